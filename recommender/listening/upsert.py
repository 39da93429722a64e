"""The listen upsert: one ``INSERT ... ON CONFLICT DO UPDATE`` for a whole batch.

The caller merges each report into the listen as it read it (``services._merge``, the one merge
rule) and sends the merged rows with the state it read. The statement inserts new listens and
updates known ones only where the stored listen is still as read (a compare-and-set), and says
which listens it wrote: two requests racing on one listen (a retry beside the original) can
never overwrite each other, and each knows exactly what its own write changed, so a retry
racing its original is acknowledged once as new, once as a duplicate, and its feedback counted
once.

On PostgreSQL the write and its feedback count are one statement (atomic alone, no BEGIN or
COMMIT round trips) and each column travels as one binary array (``unnest``): this is the
ingest path's one fast path, kept because the batched-ingest goal of ``make bench-ingest``
(>= 5,000 events/s) needs it: with a ``VALUES`` list of bound parameters instead, the server
spent 450 us a batched event instead of 130 (a bound of 4,400 events/s on two cores). SQLite
(>= 3.35, for ``RETURNING``) gets the same upsert with a ``VALUES`` list, in a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import ClassVar

from django.db import connection, transaction

from recommender.listening.hub import counter_statement, counter_statement_of
from recommender.models import ListenEvent


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

    def state(self) -> tuple:
        """What a merge changes: the values the upsert compares before it writes."""
        return tuple(getattr(self, name) for name in _STATE)

    def __eq__(self, other: object) -> bool:
        """Two states are equal when the merged facts are (timestamps aside)."""
        if not isinstance(other, ListenRow):
            return NotImplemented
        return self.track_id == other.track_id and self.state() == other.state()


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
# The state a writer read for each listen it sends, checked by the upsert before it writes,
# and how many feedback signals writing it adds.
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
        arrays = ", ".join(f"%s::{_PG_TYPES[name]}[]" for name in ListenRow.FIELDS)
        source = f"SELECT * FROM unnest({arrays})"
        guard_arrays = ", ".join(f"%s::{kind}[]" for kind in _GUARD_PG_TYPES)
        guard = f"SELECT * FROM unnest({guard_arrays})"
    else:
        one = "(" + ", ".join(["%s"] * len(ListenRow.FIELDS)) + ")"
        source = f"VALUES {', '.join([one] * rows)}"
        guard_one = "(" + ", ".join(["%s"] * len(_GUARD)) + ")"
        guard = f"VALUES {', '.join([guard_one] * rows)}"
    stored = ", ".join(f"{table}.{name}" for name in _STATE)
    read = ", ".join(f"guard.{name}" for name in _STATE)
    written = ", ".join(f"{name} = EXCLUDED.{name}" for name in (*_STATE, "updated_at"))
    upsert = (
        f"INSERT INTO {table} ({columns}) {source} "
        f"ON CONFLICT (user_id, client_event_id) DO UPDATE SET {written} "
        f"WHERE {table}.track_id = EXCLUDED.track_id AND EXISTS (SELECT 1 FROM guard "
        f"WHERE guard.client_event_id = {table}.client_event_id AND guard.present "
        f"AND ({read}) = ({stored})) "
        "RETURNING client_event_id"
    )
    return f"guard ({', '.join(_GUARD)}) AS ({guard})", upsert


def listens_upsert(
    rows: list[ListenRow], *, read: Mapping[uuid.UUID, ListenRow], signals: Mapping[uuid.UUID, int]
) -> set[uuid.UUID]:
    """Write merged listens (at most one row per listen id) and count the feedback ``signals``
    (how many, by listen id) of the listens it wrote, atomically.

    A listen is written only if it is stored as the caller ``read`` it (absent, or in the same
    state), so the caller knows exactly what each write changed; the ids written are returned,
    and one that another request changed first is left alone, for the caller to read again.
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
        return {row[0] for row in _pg_execute(sql, [*params, *count_params])}
    cid = ListenEvent._meta.get_field("client_event_id")
    params = []
    for values in guard:
        params += [cid.get_db_prep_save(values[0], connection), *values[1:]]
    fields = [ListenEvent._meta.get_field(name) for name in ListenRow.FIELDS]
    for row in rows:
        for name, model_field in zip(ListenRow.FIELDS, fields, strict=True):
            params.append(model_field.get_db_prep_save(getattr(row, name), connection))  # type: ignore[union-attr]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"WITH {guard_cte} {upsert}", params)
        written = {cid.to_python(value) for (value,) in cursor.fetchall()}
        amount = sum(signals.get(key, 0) for key in written)
        if amount:
            cursor.execute(*counter_statement(amount))
    return written


def _guard_values(key: uuid.UUID, read: Mapping[uuid.UUID, ListenRow], signals) -> tuple:
    known = read.get(key)
    state = (0, 0, False, False, False) if known is None else known.state()
    return (key, known is not None, *state, signals.get(key, 0))


def _pg_execute(sql: str, params: list) -> list:
    """Run ``sql`` on Django's connection with server-side binding and binary parameters.

    Binary arrays whatever ``DATABASE_SERVER_SIDE_BINDING`` says: a client-side binding cursor
    quotes every array element into the SQL text, which for a 500-row batch costs more than
    the insert itself.
    """
    import psycopg

    with connection.cursor() as outer, psycopg.Cursor(outer.connection) as cursor:
        cursor.execute(sql.replace("%s", "%b"), params)
        return cursor.fetchall()
