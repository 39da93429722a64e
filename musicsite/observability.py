"""Request and job ids on every log line, and error reports to Sentry when SENTRY_DSN is set.

A request's id is its ``X-Request-ID`` when the proxy in front sent a well-formed one, else a
new one; the response echoes it. A Celery task's id and the id of the row it works on (its
first argument: a job, run or track id) are set while it runs. ``ContextFilter`` copies them
onto each log record (``%(request_id)s``, ``%(task_id)s``, ``%(job_id)s``), ``-`` where none.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and - _ . : up to 64 characters (a UUID, a proxy's hex id): nothing that
# could forge a log line or fill the logs.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
task_id_var: ContextVar[str] = ContextVar("task_id", default="-")
job_id_var: ContextVar[str] = ContextVar("job_id", default="-")


def request_id_from(value: str | None) -> str:
    """The id a request is logged under: the header's value if well-formed, else a new one."""
    if value and _WELL_FORMED.fullmatch(value):
        return value
    return os.urandom(16).hex()  # 128 random bits as uuid4's, at a fifth of its cost


class RequestIdMiddleware:
    """Sets the request's id for its log lines and answers it in ``X-Request-ID``.

    The id stays set until the response is closed (``request_finished``), so that Django's own
    line for a 4xx response, written after the middleware, names it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.core.signals import request_finished

        self.get_response = get_response
        request_finished.connect(_request_finished, dispatch_uid="musicsite.request_id")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]  # the site's own attribute
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _request_finished(**_: Any) -> None:
    request_id_var.set("-")


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``task_id`` and ``job_id`` to every record it sees (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        record.job_id = job_id_var.get()
        return True


def _task_started(
    task_id: str | None = None,
    args: Sequence[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    task_id_var.set(task_id or "-")
    row = (
        args[0] if args else next((v for k, v in (kwargs or {}).items() if k.endswith("_id")), None)
    )
    job_id_var.set(str(row) if isinstance(row, int) else "-")


def _task_finished(**_: Any) -> None:
    task_id_var.set("-")
    job_id_var.set("-")


def celery_logging_connect() -> None:
    """Worker logs: Django's LOGGING (with the ids) instead of Celery's own, and the task's ids
    set while it runs."""
    from celery import signals

    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
    signals.setup_logging.connect(_django_logging, weak=False)


def _django_logging(**_: Any) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


def sentry_init(
    *,
    dsn: str,
    environment: str = "",
    release: str = "",
    traces_sample_rate: float = 0.0,
    transport: Any = None,
) -> bool:
    """Start reporting errors to Sentry (Django and Celery integrations, no personal data).

    Does nothing and returns False when ``dsn`` is empty. ``transport`` is for tests.
    """
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    # send_default_pii stays unset (deprecated in sentry-sdk 2.75; unset means off): no user
    # names or e-mail, no IP addresses, cookies or request bodies.
    options: dict[str, Any] = {
        "dsn": dsn,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
        "traces_sample_rate": traces_sample_rate,
        "environment": environment or None,
        "release": release or None,
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return True
