"""Celery tasks of the recommender: thin wrappers around ``recommender.training.services``.

Names matching ``recommender.train_*`` are routed to the ``ml`` queue (settings).
"""

from celery import shared_task

from recommender.models import RunTrigger
from recommender.training import services

# A sequence model may train for its time budget (30 min by default) plus reading and saving.
TRAIN_SOFT_LIMIT_S = 45 * 60
TRAIN_HARD_LIMIT_S = 50 * 60


@shared_task(
    name="recommender.train_model",
    soft_time_limit=TRAIN_SOFT_LIMIT_S,
    time_limit=TRAIN_HARD_LIMIT_S,
    acks_late=True,
)
def train_model(run_id: int) -> None:
    """Run the queued training run ``run_id``."""
    services.training_execute(run_id=run_id)


@shared_task(name="recommender.train_scheduled", soft_time_limit=60, time_limit=90)
def train_scheduled(kind: str) -> None:
    """Beat entry: queue a training of ``kind`` unless one is already queued or running."""
    services.training_request(kind=kind, trigger=RunTrigger.SCHEDULE)
