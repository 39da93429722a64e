"""The listening hub: where a new listening signal tells the recommender what happened.

Every write that is feedback (a play that counted, a completion, a skip, a rating, a like,
"not interested") reports its signals here, in the writer's transaction:

1. **The counters.** Each feedback family in :data:`FEEDBACK_KINDS` (``mf``, ``sequence``) has a
   counter of signals received since its last training. The retraining trigger reads them with
   :func:`feedback_counts`; a training run claims the feedback it learns from with
   :func:`feedback_take`, which reads and zeroes the counter atomically (feedback arriving
   during training counts towards the next run). Ratings add to them with
   :func:`feedbacks_received`; the listen upsert folds :func:`counter_statement_of` (on
   PostgreSQL) or :func:`counter_statement` into its write and calls :func:`subscribers_notify`.
2. **The subscribers.** After the transaction commits, each function subscribed with
   :func:`subscribe` is called once with the list of :class:`Feedback` signals of that write
   (a 500-event upload is one call), in the request, so the listener's next page already
   reflects them. A subscriber must be quick; what it raises is logged, never propagated, so
   it can never lose an event. :func:`tastes_changed` tells the subscribers of
   :func:`subscribe_tastes` that a listener's stated tastes (their onboarding picks) changed.

Subscribers are wired in one place, ``RecommenderConfig.ready`` (``recommender/apps.py``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.db.models import Sum

from recommender.ml.kinds import FAMILIES
from recommender.models import FeedbackCounter

logger = logging.getLogger(__name__)

# Feedback counters: one per model family (a training of any kind of a family claims its count).
FEEDBACK_KINDS: tuple[str, ...] = FAMILIES
# Writers add to one of this many rows per kind, picked at random (no single hot row).
COUNTER_SLOTS = 8


class Signal:
    """Names of the feedback signals (``Feedback.kind``)."""

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


FeedbackSubscriber = Callable[[list[Feedback]], None]
TastesSubscriber = Callable[[int], None]
_subscribers: list[FeedbackSubscriber] = []
_tastes_subscribers: list[TastesSubscriber] = []


def subscribe(subscriber: FeedbackSubscriber) -> None:
    """Call ``subscriber(signals)`` once after each committed write that had feedback."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def subscribe_tastes(subscriber: TastesSubscriber) -> None:
    """Call ``subscriber(user_id)`` after a committed change of a listener's stated tastes."""
    if subscriber not in _tastes_subscribers:
        _tastes_subscribers.append(subscriber)


def subscribers() -> list[Callable]:
    """Every subscriber, feedback ones first (diagnostics and the ingest benchmark)."""
    return [*_subscribers, *_tastes_subscribers]


def unsubscribe(subscriber: Callable) -> None:
    """Remove a subscriber of either kind (tests and the ingest benchmark use this)."""
    for registered in (_subscribers, _tastes_subscribers):
        if subscriber in registered:
            registered.remove(subscriber)


def feedbacks_received(signals: Iterable[Feedback]) -> None:
    """Count a batch of signals (one statement) and notify the subscribers after commit."""
    signals = list(signals)
    if not signals:
        return
    sql, params = counter_statement(len(signals))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    subscribers_notify(signals)


def subscribers_notify(signals: list[Feedback]) -> None:
    """Call the subscribers with ``signals`` once the current transaction commits.

    For writers that count the signals themselves with :func:`counter_statement` (the listen
    upsert, beside its write); everyone else calls :func:`feedbacks_received`.
    """
    if signals and _subscribers:
        transaction.on_commit(partial(_notify, list(_subscribers), list(signals)))


def tastes_changed(*, user_id: int) -> None:
    """Tell the tastes subscribers that ``user_id``'s stated tastes changed (after commit)."""
    for subscriber in list(_tastes_subscribers):
        transaction.on_commit(partial(_notify, [subscriber], user_id))


def feedback_counts(kinds: Iterable[str]) -> dict[str, int]:
    """Feedback received since each kind last claimed it with :func:`feedback_take`, in one
    query (0 for a kind never counted)."""
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
    """The SQL (and parameters) adding ``amount`` to every kind's counter in one upsert
    (PostgreSQL and SQLite alike)."""
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


def _notify(targets: list[Callable], payload: object) -> None:
    for subscriber in targets:
        try:
            subscriber(payload)
        except Exception:
            logger.exception("listening hub subscriber %s failed", subscriber)
