"""The one place where a new listening signal tells the recommender that something happened.

Every service that records feedback (a play that counted, a completion, a skip, a rating, a like,
"not interested") calls :func:`feedback_received` (or :func:`feedbacks_received` for a batch)
inside its transaction. Two things happen here and nowhere else:

1. **The counter.** Each model kind in :data:`FEEDBACK_KINDS` has a counter of feedback received
   since its last training. The retraining trigger reads it with :func:`feedback_count`; a
   training run claims the feedback it is about to learn from with :func:`feedback_take`, which
   reads and zeroes the counter atomically (feedback arriving during training counts towards the
   next run).
2. **The hooks.** Functions registered with :func:`register_feedback_hook` are called once per
   signal *after the transaction commits* (so they see the stored row, and a failing hook can never
   lose an event). The online matrix-factorization update plugs in here::

       # recommender/apps.py, in RecommenderConfig.ready():
       from recommender.listening import hub
       hub.register_feedback_hook(online_update_listener_factors)

   A hook takes ``(*, user_id: int, track_id: int, kind: str, value: float | None)``; it must be
   quick (enqueue a task for anything slow) and exceptions it raises are logged, not propagated.

   A hook that queries the database should register with ``batch=True``: it is then called
   once per committed write with the list of :class:`Feedback` signals, so a 500-event upload
   costs one call, not 500.

   Where hooks run: batch hooks, and per-signal hooks of small writes (at most
   :data:`INLINE_SIGNALS_MAX` signals: a player's report, a rating), run in the request right
   after the commit, so the listener's next page already reflects them. For bulk writes (a
   mobile client's offline sync) the per-signal hooks run in a worker: the hub queues the
   ``recommender.feedback_hooks`` task (default queue) instead of making the client wait for
   hundreds of hook calls. If the broker can't take it, they run inline after all.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass
from functools import partial

from celery import shared_task
from django.db import connection, transaction
from django.db.models import Sum

from recommender.models import FeedbackCounter

logger = logging.getLogger(__name__)

# Model kinds that retrain on new feedback; keep in step with the training registry's kinds.
FEEDBACK_KINDS: tuple[str, ...] = ("mf", "sequence", "generator")
# Writers add to one of this many rows per kind, picked at random (no single hot row).
COUNTER_SLOTS = 8
# Per-signal hooks of writes with more signals than this run in a worker (see above).
INLINE_SIGNALS_MAX = 8


class Signal:
    """Names of the feedback signals (the ``kind`` passed to hooks)."""

    PLAY = "play"  # a listen crossed the play threshold (30 s or half the piece)
    COMPLETE = "complete"  # a listen reached the end of the piece
    SKIP = "skip"  # the listener moved on before the threshold
    RATING = "rating"  # stars set (value = stars) or removed (value = None)
    LIKE = "like"  # value 1.0 liked, 0.0 unliked
    NOT_INTERESTED = "not_interested"  # value 1.0 hidden, 0.0 shown again


@dataclass(frozen=True, slots=True)
class Feedback:
    """One signal about one piece from one listener."""

    user_id: int
    track_id: int
    kind: str
    value: float | None = None


FeedbackHook = Callable[..., None]
_hooks: list[FeedbackHook] = []
_batch_hooks: list[Callable[[list[Feedback]], None]] = []


def register_feedback_hook(hook: FeedbackHook, *, batch: bool = False) -> None:
    """Call ``hook(user_id=, track_id=, kind=, value=)`` after each committed feedback signal,
    or, with ``batch=True``, ``hook(signals)`` once per committed write."""
    hooks = _batch_hooks if batch else _hooks
    if hook not in hooks:
        hooks.append(hook)


def feedback_hooks() -> list[FeedbackHook]:
    """Every registered hook, per-signal ones first (diagnostics and the ingest benchmark)."""
    return [*_hooks, *_batch_hooks]


def unregister_feedback_hook(hook: FeedbackHook) -> None:
    """Remove a hook registered with :func:`register_feedback_hook` (tests use this)."""
    for hooks in (_hooks, _batch_hooks):
        if hook in hooks:
            hooks.remove(hook)


def feedback_received(*, user, track, kind: str, value: float | None = None) -> None:
    """Record that ``user`` gave feedback of ``kind`` about ``track`` (a Track or its id)."""
    track_id = track if isinstance(track, int) else track.pk
    feedbacks_received([Feedback(user_id=user.pk, track_id=track_id, kind=kind, value=value)])


def feedbacks_received(signals: Iterable[Feedback]) -> None:
    """Count a batch of signals (one statement) and schedule the hooks after commit."""
    signals = list(signals)
    if not signals:
        return
    sql, params = counter_statement(len(signals))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    feedback_hooks_schedule(signals)


def feedback_hooks_schedule(signals: list[Feedback]) -> None:
    """Run the hooks for ``signals`` once the current transaction commits.

    For writers that count the signals themselves with :func:`counter_statement` (the listen
    upsert folds it into its own statement); everyone else calls :func:`feedbacks_received`.
    """
    if signals and (_hooks or _batch_hooks):
        transaction.on_commit(partial(_dispatch, list(signals)))


def feedback_count(kind: str) -> int:
    """Feedback received since ``kind`` last claimed it with :func:`feedback_take`."""
    total = FeedbackCounter.objects.filter(kind=kind).aggregate(total=Sum("count"))["total"]
    return int(total or 0)


def feedback_counts(kinds: Iterable[str]) -> dict[str, int]:
    """:func:`feedback_count` of several kinds in one query (0 for a kind never counted)."""
    kinds = list(kinds)
    rows = (
        FeedbackCounter.objects.filter(kind__in=kinds)
        .values("kind")
        .annotate(total=Sum("count"))
        .values_list("kind", "total")
    )
    counts = dict.fromkeys(kinds, 0)
    counts.update({kind: int(total or 0) for kind, total in rows})
    return counts


@transaction.atomic
def feedback_take(kind: str) -> int:
    """Read and zero the counter of ``kind`` atomically; a training run calls this as it starts."""
    rows = list(FeedbackCounter.objects.select_for_update().filter(kind=kind))
    total = sum(row.count for row in rows)
    FeedbackCounter.objects.filter(pk__in=[row.pk for row in rows]).update(count=0)
    return total


def counter_statement(amount: int) -> tuple[str, list]:
    """The SQL (and parameters) adding ``amount`` to every kind's counter in one upsert.

    Runs on PostgreSQL and SQLite alike; on PostgreSQL it can also be a ``WITH`` clause of
    another statement, so a write and its count commit together without a transaction block.
    """
    table = connection.ops.quote_name(FeedbackCounter._meta.db_table)
    slot = random.randrange(COUNTER_SLOTS)
    values = ", ".join(["(%s, %s, %s)"] * len(FEEDBACK_KINDS))
    params: list = []
    for kind in FEEDBACK_KINDS:
        params += [kind, slot, amount]
    sql = (
        f"INSERT INTO {table} (kind, slot, count) VALUES {values} "
        f"ON CONFLICT (kind, slot) DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    return sql, params


def counter_statement_of(total_sql: str) -> tuple[str, list]:
    """Like :func:`counter_statement`, adding what the query ``total_sql`` answers (one row,
    one column; nothing when it is NULL or 0), for a ``WITH`` clause on PostgreSQL: a write
    counts exactly the signals of the rows it wrote, in the same statement."""
    table = connection.ops.quote_name(FeedbackCounter._meta.db_table)
    sql = (
        f"INSERT INTO {table} (kind, slot, count) "
        "SELECT kind, %s::integer, total.n FROM unnest(%s::text[]) AS kinds (kind), "
        f"({total_sql}) AS total (n) WHERE total.n > 0 "
        f"ON CONFLICT (kind, slot) DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    return sql, [random.randrange(COUNTER_SLOTS), list(FEEDBACK_KINDS)]


def _dispatch(signals: list[Feedback]) -> None:
    """After commit: batch hooks now; per-signal hooks now, or in a worker for bulk writes."""
    for batch_hook in list(_batch_hooks):
        try:
            batch_hook(signals)
        except Exception:
            logger.exception("feedback hook %s failed for %d signals", batch_hook, len(signals))
    if not _hooks:
        return
    if len(signals) > INLINE_SIGNALS_MAX:
        try:
            feedback_hooks_run.delay([list(astuple(signal)) for signal in signals])
            return
        except Exception:  # the broker is down: better late in this request than never
            logger.exception(
                "could not queue the hooks of %d signals; running them now", len(signals)
            )
    _run_signal_hooks(signals)


@shared_task(name="recommender.feedback_hooks", soft_time_limit=300, time_limit=330)
def feedback_hooks_run(signals: list[list]) -> None:
    """Run the per-signal hooks of a bulk write (queued by :func:`_dispatch`)."""
    _run_signal_hooks([Feedback(*signal) for signal in signals])


def _run_signal_hooks(signals: list[Feedback]) -> None:
    for hook in list(_hooks):
        for signal in signals:
            try:
                hook(
                    user_id=signal.user_id,
                    track_id=signal.track_id,
                    kind=signal.kind,
                    value=signal.value,
                )
            except Exception:
                logger.exception(
                    "feedback hook %s failed for user %s track %s",
                    getattr(hook, "__name__", hook),
                    signal.user_id,
                    signal.track_id,
                )
