"""The listen upsert: one ``INSERT ... ON CONFLICT DO UPDATE`` for a whole batch.

The ``DO UPDATE`` merges a report into the stored listen monotonically, in the database, so two
requests racing on the same listen (a retry beside the original, say) both end up merged and no
acknowledged report is overwritten by an older one. It merges only into a listen stored as the
writer read it, and says which listens it wrote, so each request knows what its own write
changed (a retry racing its original is acknowledged once as new, once as a duplicate, and its
feedback counted once). The same statement runs on PostgreSQL and SQLite (>= 3.35, for
``RETURNING``); only the name of the two-argument maximum differs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import ClassVar

from django.db import connection

from catalog.models import Track
from recommender.listening.hub import counter_statement, counter_statement_of
from recommender.models import ListenEvent, ListeningSettings


@dataclass(slots=True)
class ListenRow:
    """The stored state of one listen (the columns the upsert writes)."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "user_id",
        "track_id",
        "client_event_id",
        "session_id",
        "context",
        "started_at",
        "position_ms",
        "played_ms",
        "duration_ms",
        "completed",
        "skipped",
        "counted",
        "created_at",
        "updated_at",
    )

    user_id: int
    track_id: int
    client_event_id: uuid.UUID
    session_id: uuid.UUID | None
    context: str
    started_at: datetime
    position_ms: int
    played_ms: int
    duration_ms: int
    completed: bool
    skipped: bool
    counted: bool
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict:
        return asdict(self)

    def __eq__(self, other: object) -> bool:
        """Two states are equal when the merged facts are (timestamps aside)."""
        if not isinstance(other, ListenRow):
            return NotImplemented
        keys = ("track_id", "position_ms", "played_ms", "completed", "skipped", "counted")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


# PostgreSQL gets one array per column (``unnest``): 14 parameters whatever the batch size, so
# the driver never parses a statement with thousands of placeholders.
_PG_TYPES = {
    "user_id": "bigint",
    "track_id": "bigint",
    "client_event_id": "uuid",
    "session_id": "uuid",
    "context": "text",
    "started_at": "timestamptz",
    "position_ms": "integer",
    "played_ms": "integer",
    "duration_ms": "integer",
    "completed": "boolean",
    "skipped": "boolean",
    "counted": "boolean",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}


# The state a writer read for each listen it sends, checked by the upsert before it merges.
_GUARD = ("client_event_id", "present", "position_ms", "played_ms", "completed", "skipped",
          "counted", "signals")  # fmt: skip
_GUARD_PG_TYPES = ("uuid", "boolean", "integer", "integer", "boolean", "boolean", "boolean",
                   "integer")  # fmt: skip
_STATE = ("position_ms", "played_ms", "completed", "skipped", "counted")


def _sql(rows: int) -> tuple[str, str]:
    """The guard (the state read, one row per listen sent) and the upsert that checks it."""
    table = connection.ops.quote_name(ListenEvent._meta.db_table)
    columns = ", ".join(ListenRow.FIELDS)
    if connection.vendor == "postgresql":
        greatest = "GREATEST"
        arrays = ", ".join(f"%s::{_PG_TYPES[name]}[]" for name in ListenRow.FIELDS)
        source = f"SELECT * FROM unnest({arrays})"
        guard_arrays = ", ".join(f"%s::{kind}[]" for kind in _GUARD_PG_TYPES)
        guard = f"SELECT * FROM unnest({guard_arrays})"
    else:
        greatest = "MAX"
        one = "(" + ", ".join(["%s"] * len(ListenRow.FIELDS)) + ")"
        source = f"VALUES {', '.join([one] * rows)}"
        guard_one = "(" + ", ".join(["%s"] * len(_GUARD)) + ")"
        guard = f"VALUES {', '.join([guard_one] * rows)}"
    stored = ", ".join(f"{table}.{name}" for name in _STATE)
    read = ", ".join(f"guard.{name}" for name in _STATE)
    upsert = (
        f"INSERT INTO {table} ({columns}) {source} "
        "ON CONFLICT (user_id, client_event_id) DO UPDATE SET "
        f"position_ms = CASE WHEN EXCLUDED.played_ms >= {table}.played_ms "
        f"THEN EXCLUDED.position_ms ELSE {table}.position_ms END, "
        f"played_ms = {greatest}({table}.played_ms, EXCLUDED.played_ms), "
        f"completed = ({table}.completed OR EXCLUDED.completed), "
        f"skipped = (({table}.skipped OR EXCLUDED.skipped) "
        f"AND NOT ({table}.counted OR EXCLUDED.counted)), "
        f"counted = ({table}.counted OR EXCLUDED.counted), "
        "updated_at = EXCLUDED.updated_at "
        f"WHERE {table}.track_id = EXCLUDED.track_id AND EXISTS (SELECT 1 FROM guard "
        f"WHERE guard.client_event_id = {table}.client_event_id AND guard.present "
        f"AND ({read}) = ({stored})) "
        "RETURNING client_event_id"
    )
    return f"guard ({', '.join(_GUARD)}) AS ({guard})", upsert


def listens_upsert(
    rows: list[ListenRow], *, read: Mapping[uuid.UUID, ListenRow], signals: Mapping[uuid.UUID, int]
) -> set[uuid.UUID]:
    """Insert new listens and merge reports into known ones (at most one row per listen id),
    and count the feedback ``signals`` (how many, by listen id) of the listens it wrote.

    A listen is written only if it is stored as the caller ``read`` it (absent, or in the same
    state), so the caller knows exactly what each write changed; the ids written are returned,
    and one that another request changed first is left alone, for the caller to read again.
    On PostgreSQL the write and its count are one statement, atomic on its own, so the
    request needs no BEGIN/COMMIT round trips. Elsewhere the caller wraps the call in a
    transaction and the count follows the write.
    """
    guard = [_guard_values(row.client_event_id, read, signals) for row in rows]
    guard_cte, upsert = _sql(len(rows))
    if connection.vendor == "postgresql":
        params = [list(column) for column in zip(*guard, strict=True)]
        params += [[getattr(row, name) for row in rows] for name in ListenRow.FIELDS]
        count_sql, count_params = counter_statement_of(
            "SELECT sum(guard.signals) FROM up JOIN guard USING (client_event_id)"
        )
        sql = (
            f"WITH {guard_cte}, up AS ({upsert}), counted AS ({count_sql}) "
            "SELECT client_event_id FROM up"
        )
        return {row[0] for row in _pg_execute(sql, [*params, *count_params], fetch=True)}
    cid = ListenEvent._meta.get_field("client_event_id")
    params = []
    for values in guard:
        params += [cid.get_db_prep_save(values[0], connection), *values[1:]]
    fields = [ListenEvent._meta.get_field(name) for name in ListenRow.FIELDS]
    for row in rows:
        for name, model_field in zip(ListenRow.FIELDS, fields, strict=True):
            params.append(model_field.get_db_prep_save(getattr(row, name), connection))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {guard_cte} {upsert}", params)
        written = {cid.to_python(value) for (value,) in cursor.fetchall()}
        amount = sum(signals.get(key, 0) for key in written)
        if amount:
            cursor.execute(*counter_statement(amount))
    return written


def _guard_values(key: uuid.UUID, read: Mapping[uuid.UUID, ListenRow], signals) -> tuple:
    known = read.get(key)
    state = (
        (0, 0, False, False, False) if known is None else tuple(getattr(known, n) for n in _STATE)
    )
    return (key, known is not None, *state, signals.get(key, 0))


def listens_existing(
    *, user_id: int, client_event_ids: Iterable[uuid.UUID], lock: bool = False
) -> dict:
    """The stored state of the listener's listens with these ids, by id.

    ``lock``: inside a transaction, hold those rows until it ends (``SELECT ... FOR UPDATE``).
    """
    ids = list(client_event_ids)
    if connection.vendor != "postgresql":
        rows = ListenEvent.objects.filter(user_id=user_id, client_event_id__in=ids)
        if lock:
            rows = rows.select_for_update()
        return {row["client_event_id"]: ListenRow(**row) for row in rows.values(*ListenRow.FIELDS)}
    table = connection.ops.quote_name(ListenEvent._meta.db_table)
    sql = (
        f"SELECT {', '.join(ListenRow.FIELDS)} FROM {table} "
        "WHERE user_id = %s AND client_event_id = ANY(%s::uuid[])"
        f"{' FOR UPDATE' if lock else ''}"
    )
    found = [ListenRow(*row) for row in _pg_execute(sql, [user_id, ids], fetch=True)]
    return {row.client_event_id: row for row in found}


PAUSED = 0  # the track id that stands for "history paused" in listen_tracks_or_paused()


def listen_tracks_or_paused(*, user_id: int, track_ids: Iterable[int]) -> dict[int, float]:
    """Durations (s) of the pieces the listener may hear, by id; ``PAUSED`` if history is paused.

    One round trip for both questions; it runs on every listen request, where building the same
    query with the ORM costs more CPU than the database spends answering it. The visibility
    rule is ``Track.objects.visible_to`` (published, public or the listener's own);
    ``tests/recommender/listening/test_upsert.py`` checks the two agree.
    """
    ids = list(track_ids)
    track = connection.ops.quote_name(Track._meta.db_table)
    settings_table = connection.ops.quote_name(ListeningSettings._meta.db_table)
    if connection.vendor == "postgresql":
        where_ids, id_params = "id = ANY(%s::bigint[])", [ids]
    else:
        where_ids, id_params = f"id IN ({', '.join(['%s'] * len(ids))})", ids
    sql = (
        f"SELECT id, duration_seconds FROM {track} WHERE {where_ids} AND status = %s "
        "AND (owner_id IS NULL OR owner_id = %s) "
        f"UNION ALL SELECT {PAUSED}, 0.0 FROM {settings_table} "
        "WHERE user_id = %s AND history_paused"
    )
    params = [*id_params, Track.Status.PUBLISHED.value, user_id, user_id]
    if connection.vendor == "postgresql":
        return dict(_pg_execute(sql, params, fetch=True))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def _pg_execute(sql: str, params: list, *, fetch: bool = False) -> list:
    """Run ``sql`` on Django's connection with server-side binding and binary parameters.

    Binary arrays whatever ``DATABASE_SERVER_SIDE_BINDING`` says: a client-side binding cursor
    quotes every array element into the SQL text, which for a 500-row batch costs more than
    the insert itself.
    """
    import psycopg

    with connection.cursor() as outer, psycopg.Cursor(outer.connection) as cursor:
        cursor.execute(sql.replace("%s", "%b"), params)
        return cursor.fetchall() if fetch else []
