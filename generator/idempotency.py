"""``Idempotency-Key`` on creating a generation job: a retried request makes no second song.

The key is stored on the job it made, with a fingerprint of the request's settings. Within
``IDEMPOTENCY_WINDOW`` the same key with the same settings returns that job (no new job, no
second count toward the hourly limit); with other settings it is refused. A key older than the
window is released and may make a new job. A job failed at once because the broker was
unreachable does not keep its key, so the client's retry after ``Retry-After`` is a new try.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from generator import services
from generator.models import GenerationJob

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
KEY_MAX_LENGTH = 255


class IdempotencyKeyReused(Exception):
    """The key already made a job from a request with other settings."""


def request_fingerprint(settings: dict[str, Any]) -> str:
    """SHA-256 of the request's settings, independent of the order of their keys."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def generation_job_create_once(
    *, user, key: str, settings: dict[str, Any]
) -> tuple[GenerationJob, bool]:
    """The job ``key`` made for ``user`` in the last 24 h, or a new one from ``settings``
    (``generation_job_create``'s arguments); True when it is new.

    Raises ``IdempotencyKeyReused`` when the key made a job from other settings, and whatever
    ``generation_job_create`` raises (nothing is then stored under the key).
    """
    if not key:
        raise ValueError("An idempotency key cannot be empty.")
    fingerprint = request_fingerprint(settings)
    try:
        return _create_once(user=user, key=key, settings=settings, fingerprint=fingerprint)
    except IntegrityError:  # a racing request with the same key saved its job first
        return _replay(user=user, key=key, fingerprint=fingerprint), False


def _create_once(
    *, user, key: str, settings: dict[str, Any], fingerprint: str
) -> tuple[GenerationJob, bool]:
    made: GenerationJob | None = None
    try:
        with transaction.atomic():
            # The listener's row, locked: requests with the same key take turns.
            list(get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk"))
            mine = GenerationJob.objects.filter(user=user, idempotency_key=key)
            stale = mine.filter(created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW)
            stale.update(idempotency_key="")
            if mine.exists():
                return _replay(user=user, key=key, fingerprint=fingerprint), False
            made = services.generation_job_create(user=user, **settings)
            made.idempotency_key, made.request_fingerprint = key, fingerprint
            made.save(update_fields=["idempotency_key", "request_fingerprint"])
        return made, True
    except services.QueueUnavailable:  # raised after commit: the job exists, failed
        if made is not None:
            GenerationJob.objects.filter(pk=made.pk).update(idempotency_key="")
        raise


def _replay(*, user, key: str, fingerprint: str) -> GenerationJob:
    job = GenerationJob.objects.select_related("track").get(user=user, idempotency_key=key)
    if job.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"This {IDEMPOTENCY_HEADER} was already used for a request with other settings; "
            "use a new key for a new song."
        )
    return job
