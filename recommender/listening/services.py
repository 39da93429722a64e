"""Writes of the listening log: listens, ratings, history settings.

Every write that is feedback reports it through ``recommender.listening.hub``.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Track
from recommender.listening import hub
from recommender.listening.hub import Feedback, Signal
from recommender.listening.reports import (
    POSITION_SLACK_MS,
    BatchRejected,
    ListenReport,
    ReportError,
)
from recommender.listening.selectors import PAUSED, listenable_or_paused, listens_existing
from recommender.listening.upsert import ListenRow, listens_upsert
from recommender.models import ListenEvent, ListeningSettings, Rating, play_threshold_ms

logger = logging.getLogger(__name__)


class HistoryPaused(Exception):
    """The listener paused their history: listening events are not recorded."""


@dataclass(frozen=True, slots=True)
class ListenResult:
    """What happened to one report: ``created``, ``updated`` or ``duplicate`` (already known)."""

    index: int
    client_event_id: str
    status: str
    counted: bool
    skipped: bool
    completed: bool


def _merge(old: ListenRow | None, new: ListenRow) -> ListenRow:
    """Merge a report into a listen: monotonic, commutative, idempotent (the one merge rule;
    the upsert writes its result only over the state it was computed from)."""
    if old is None:
        return new
    counted = old.counted or new.counted
    newer = new.played_ms >= old.played_ms
    return ListenRow(
        **{
            **old.as_dict(),
            "position_ms": new.position_ms if newer else old.position_ms,
            "played_ms": max(old.played_ms, new.played_ms),
            "completed": old.completed or new.completed,
            "skipped": (old.skipped or new.skipped) and not counted,
            "counted": counted,
        }
    )


def _row_from_report(report: ListenReport, *, user_id: int, duration_ms: int, now) -> ListenRow:
    counted = report.played_ms >= play_threshold_ms(duration_ms)
    return ListenRow(
        user_id=user_id,
        track_id=report.track_id,
        client_event_id=report.client_event_id,
        session_id=report.session_id,
        context=report.context,
        started_at=report.started_at,
        position_ms=min(report.position_ms, duration_ms),
        played_ms=report.played_ms,
        duration_ms=duration_ms,
        completed=report.type == "complete",
        skipped=report.type == "skip" and not counted,
        counted=counted,
        created_at=now,
        updated_at=now,
    )


def _transitions(old: ListenRow | None, new: ListenRow) -> list[Feedback]:
    signals = []
    for flag, kind in (("counted", Signal.PLAY), ("completed", Signal.COMPLETE)):
        if getattr(new, flag) and not (old and getattr(old, flag)):
            signals.append(Feedback(new.user_id, new.track_id, kind))
    if new.skipped and not (old and old.skipped):
        signals.append(Feedback(new.user_id, new.track_id, Signal.SKIP))
    return signals


# Writes of one request: the first, and after a race, rereads under a lock (see listens_record).
WRITE_ATTEMPTS = 5


class ListenRaceError(RuntimeError):
    """Other requests kept changing the same listens; nothing more of this batch was stored."""


def listens_record(*, user, reports: list[ListenReport], now: datetime | None = None):
    """Store a checked batch of listen reports for ``user`` all together, or nothing.

    Raises :class:`HistoryPaused` while the listener's history is paused, and
    :class:`BatchRejected` (naming each bad report) when a report names a track the listener
    cannot see, a playhead past the end of the piece, or a listen id already used for another
    track. Returns one :class:`ListenResult` per report, in request order.

    The reads come first, outside any transaction; the write is one upsert
    (``recommender.listening.upsert``) that writes a merged listen only if it is still stored
    as read, so a concurrent request can't lose a listen, and each report's status and the
    feedback it adds (counted, subscribers) follow what this request's own write changed. A listen
    another request wrote in between is read again, under a lock, and written in a second
    step: a retry racing its original is a ``duplicate``, counted once. (Only if that other
    request used the listen id for another piece can the batch be refused after the rest of
    it was stored.)
    """
    now = now or timezone.now()
    durations = listenable_or_paused(user, {r.track_id for r in reports})
    if durations.pop(PAUSED, None) is not None:
        raise HistoryPaused("listening history is paused; events are not recorded")
    ids = {r.client_event_id for r in reports}
    existing = listens_existing(user_id=user.pk, client_event_ids=ids)
    rows, errors = _checked_rows(reports, durations, user_id=user.pk, now=now)
    results: dict[int, ListenResult] = {}
    for attempt in range(WRITE_ATTEMPTS):
        with transaction.atomic() if attempt else nullcontext():  # a reread locks its rows
            if attempt:
                existing = listens_existing(user_id=user.pk, client_event_ids=ids, lock=True)
            plan = _plan(rows, existing, errors=errors, total=len(reports))
            lost = _write(plan)
        results.update({r.index: r for key, r in plan.results if key not in lost})
        rows = [(report, row) for report, row in rows if row.client_event_id in lost]
        if not rows:
            return [results[report.index] for report in reports]
        ids, errors = {row.client_event_id for _, row in rows}, []
        logger.info(
            "user %s: %d listens changed by another request; reading again", user.pk, len(ids)
        )
    raise ListenRaceError(f"{len(ids)} listens kept changing under other requests")


def _checked_rows(
    reports: list[ListenReport], durations: dict[int, float], *, user_id: int, now
) -> tuple[list[tuple[ListenReport, ListenRow]], list[ReportError]]:
    """Each report as the row it would store, and the errors of those naming a track the
    listener can't see or a playhead past the end."""
    errors: list[ReportError] = []
    rows: list[tuple[ListenReport, ListenRow]] = []
    for report in reports:
        if report.track_id not in durations:
            errors.append(
                ReportError(
                    report.index,
                    "track",
                    "unknown_track",
                    f"track {report.track_id} does not exist or is not available to you",
                )
            )
            continue
        duration_ms = round(durations[report.track_id] * 1000)
        if report.position_ms > duration_ms + POSITION_SLACK_MS:
            errors.append(
                ReportError(
                    report.index,
                    "position_ms",
                    "out_of_range",
                    f"position_ms {report.position_ms} is past the end of the piece "
                    f"({duration_ms} ms)",
                )
            )
            continue
        rows.append(
            (report, _row_from_report(report, user_id=user_id, duration_ms=duration_ms, now=now))
        )
    return rows, errors


@dataclass
class _Plan:
    """What one write changes: each report's result, the rows to send, the signals by listen."""

    results: list[tuple[Any, ListenResult]]  # with the listen id as stored (a UUID)
    changed: list[ListenRow]
    read: dict[Any, ListenRow]
    signals: dict[Any, list[Feedback]]


def _plan(
    rows: list[tuple[ListenReport, ListenRow]],
    existing: dict[Any, ListenRow],
    *,
    errors: list[ReportError],
    total: int,
) -> _Plan:
    """Merge the reports into the listens as read. BatchRejected with ``errors`` and those of
    reports whose listen id already names a listen of another track, if any."""
    errors = list(errors)
    merged: dict[Any, ListenRow] = {}
    for report, row in rows:
        known = merged.get(row.client_event_id) or existing.get(row.client_event_id)
        if known is not None and known.track_id != row.track_id:
            errors.append(
                ReportError(
                    report.index,
                    "client_event_id",
                    "conflict",
                    f"client_event_id {report.client_event_id} already names a listen of "
                    f"track {known.track_id}",
                )
            )
            continue
        merged[row.client_event_id] = _merge(merged.get(row.client_event_id), row)
    if errors:
        errors.sort(key=lambda e: e.index)
        bad = len({e.index for e in errors})
        raise BatchRejected(
            f"{bad} of {total} events are invalid; nothing was recorded", errors=errors
        )

    results: list[tuple[Any, ListenResult]] = []
    signals: dict[Any, list[Feedback]] = {}
    state = dict(existing)
    for report, row in rows:
        key = row.client_event_id
        before = state.get(key)
        after = _merge(before, row)
        status = "created" if before is None else ("duplicate" if after == before else "updated")
        signals.setdefault(key, []).extend(_transitions(before, after))
        state[key] = after
        result = ListenResult(
            report.index,
            str(report.client_event_id),
            status,
            after.counted,
            after.skipped,
            after.completed,
        )
        results.append((key, result))
    changed = [row for key, row in merged.items() if state[key] != existing.get(key)]
    return _Plan(results, changed, existing, signals)


def _write(plan: _Plan) -> set:
    """Send the plan's changed listens; notify the hub of those written; the ids lost to
    another request (not written)."""
    if not plan.changed:
        return set()
    counts = {key: len(found) for key, found in plan.signals.items()}
    written = listens_upsert(plan.changed, read=plan.read, signals=counts)
    lost = {row.client_event_id for row in plan.changed} - written
    hub.subscribers_notify(
        [s for key, found in plan.signals.items() if key not in lost for s in found]
    )
    return lost


@transaction.atomic
def listen_delete(*, user, listen_id: int) -> None:
    """Delete one of ``user``'s listens (raises ``ListenEvent.DoesNotExist`` if not theirs)."""
    ListenEvent.objects.get(pk=listen_id, user=user).delete()


@transaction.atomic
def history_pause_set(*, user, paused: bool) -> ListeningSettings:
    """Pause or resume recording ``user``'s listening history."""
    settings_row, _ = ListeningSettings.objects.select_for_update().get_or_create(user=user)
    if settings_row.history_paused != paused:
        settings_row.history_paused = paused
        settings_row.paused_at = timezone.now() if paused else None
        settings_row.save(update_fields=["history_paused", "paused_at", "updated_at"])
        logger.info("user %s %s their history", user.pk, "paused" if paused else "resumed")
    return settings_row


UNSET: Any = object()


@transaction.atomic
def rating_set(
    *, user, track: Track, stars: Any = UNSET, liked: Any = UNSET, not_interested: Any = UNSET
) -> Rating | None:
    """Set any of stars (1-5, or None to remove), liked and not_interested for one piece.

    Fields left out keep their value. A rating left with nothing set is deleted (returns None).
    Ratings are recorded even while the listening history is paused: they are explicit acts.
    """
    if (
        stars is not UNSET
        and stars is not None
        and (isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5)
    ):
        raise ValueError(f"stars must be a whole number from 1 to 5, got {stars!r}")
    rating = Rating.objects.select_for_update().filter(user=user, track=track).first()
    before = (
        (None, False, False)
        if rating is None
        else (rating.stars, rating.liked, rating.not_interested)
    )
    after = (
        before[0] if stars is UNSET else stars,
        before[1] if liked is UNSET else bool(liked),
        before[2] if not_interested is UNSET else bool(not_interested),
    )
    if after == before:
        return rating
    if after == (None, False, False):
        if rating is not None:
            rating.delete()
        rating = None
    elif rating is None:
        rating = Rating.objects.create(
            user=user, track=track, stars=after[0], liked=after[1], not_interested=after[2]
        )
    else:
        rating.stars, rating.liked, rating.not_interested = after
        rating.save(update_fields=["stars", "liked", "not_interested", "updated_at"])
    signals = []
    kinds = (Signal.RATING, Signal.LIKE, Signal.NOT_INTERESTED)
    for kind, old, new in zip(kinds, before, after, strict=True):
        if old != new:
            value = None if new is None else float(new)
            signals.append(Feedback(user.pk, track.pk, kind, value))
    hub.feedbacks_received(signals)
    return rating


def rating_clear(*, user, track: Track) -> None:
    """Remove stars, like and "not interested" for one piece."""
    rating_set(user=user, track=track, stars=None, liked=False, not_interested=False)
