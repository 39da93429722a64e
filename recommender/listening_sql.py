"""The listen upsert: one ``INSERT ... ON CONFLICT DO UPDATE`` for a whole batch.

The ``DO UPDATE`` merges a report into the stored listen monotonically, in the database, so two
requests racing on the same listen (a retry beside the original, say) both end up merged and no
acknowledged report is overwritten by an older one. The same statement runs on PostgreSQL and
SQLite (>= 3.24); only the name of the two-argument maximum differs.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import ClassVar

from django.db import connection

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

    def __eq__(self, other: object) -> bool:
        """Two states are equal when the merged facts are (timestamps aside)."""
        if not isinstance(other, ListenRow):
            return NotImplemented
        keys = ("track_id", "position_ms", "played_ms", "completed", "skipped", "counted")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def _sql(rows: int) -> str:
    table = connection.ops.quote_name(ListenEvent._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    columns = ", ".join(ListenRow.FIELDS)
    one = "(" + ", ".join(["%s"] * len(ListenRow.FIELDS)) + ")"
    return (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * rows)} "
        "ON CONFLICT (user_id, client_event_id) DO UPDATE SET "
        f"position_ms = CASE WHEN EXCLUDED.played_ms >= {table}.played_ms "
        f"THEN EXCLUDED.position_ms ELSE {table}.position_ms END, "
        f"played_ms = {greatest}({table}.played_ms, EXCLUDED.played_ms), "
        f"completed = ({table}.completed OR EXCLUDED.completed), "
        f"skipped = (({table}.skipped OR EXCLUDED.skipped) "
        f"AND NOT ({table}.counted OR EXCLUDED.counted)), "
        f"counted = ({table}.counted OR EXCLUDED.counted), "
        "updated_at = EXCLUDED.updated_at "
        f"WHERE {table}.track_id = EXCLUDED.track_id"
    )


def listens_upsert(rows: list[ListenRow]) -> None:
    """Insert new listens and merge reports into known ones (at most one row per listen id)."""
    fields = [ListenEvent._meta.get_field(name) for name in ListenRow.FIELDS]
    params: list = []
    for row in rows:
        for name, model_field in zip(ListenRow.FIELDS, fields, strict=True):
            params.append(model_field.get_db_prep_save(getattr(row, name), connection))
    with connection.cursor() as cursor:
        cursor.execute(_sql(len(rows)), params)
