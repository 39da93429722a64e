"""Celery tasks of the recommender: thin wrappers around ``recommender.training.services`` and
the feed's source weights (``recommender.feed.weights``).

Names matching ``recommender.train_*`` are routed to the ``ml`` queue, the reaper to
``interactive`` (settings); the rest run on the default queue.
"""

from celery import shared_task

from recommender.feed.weights import feed_source_weights_fit
from recommender.models import RunTrigger
from recommender.training import recovery, services

# A sequence model may train for its time budget (30 min by default) plus reading and saving.
TRAIN_SOFT_LIMIT_S = 45 * 60
TRAIN_HARD_LIMIT_S = 50 * 60


@shared_task(
    name="recommender.train_model",
    soft_time_limit=TRAIN_SOFT_LIMIT_S,
    time_limit=TRAIN_HARD_LIMIT_S,
    acks_late=True,  # a lost worker's run is failed by its heartbeat, not run again
)
def train_model(run_id: int) -> None:
    """Run the queued training run ``run_id``."""
    services.training_execute(run_id=run_id)


@shared_task(name="recommender.train_scheduled", soft_time_limit=60, time_limit=90)
def train_scheduled(kind: str) -> None:
    """Beat entry: queue a training of ``kind`` unless one is already queued or running."""
    services.training_request(kind=kind, trigger=RunTrigger.SCHEDULE)


@shared_task(name="recommender.reap_trainings", soft_time_limit=60, time_limit=90)
def reap_trainings() -> dict[str, int]:
    """Beat entry: fail trainings whose worker died or never came (they block their kind)."""
    return recovery.training_runs_reap()


@shared_task(name="recommender.refit_feed_weights", soft_time_limit=300, time_limit=360)
def refit_feed_weights() -> dict[str, float]:
    """Beat entry: fit each feed source's blend multiplier on the recent impressions."""
    return {row.source: row.multiplier for row in feed_source_weights_fit()}
