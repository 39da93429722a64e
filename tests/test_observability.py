"""Request and job ids in the logs, and error reports to Sentry only when SENTRY_DSN is set."""

import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk
from celery import shared_task
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from sentry_sdk.transport import Transport

from musicsite import urls as site_urls
from musicsite.observability import sentry_init

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("tests.observability")


def _boom(request):
    log.warning("about to fail")
    raise RuntimeError("the view broke")


def _logs(request):
    log.warning("inside the view")
    return HttpResponse("ok")


urlpatterns = [path("boom", _boom), path("logs", _logs), *site_urls.urlpatterns]


@shared_task(name="tests.observability_log")
def _task_that_logs(job_id: int) -> None:
    log.warning("working on it")


@pytest.fixture
def console():
    """What the site's configured console handler writes, as text."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


@pytest.mark.django_db
def test_a_request_without_an_id_gets_a_new_one_in_its_response(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.django_db
def test_a_proxy_s_well_formed_request_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-7f3a.42:edge")
    assert response["X-Request-ID"] == "req-7f3a.42:edge"


@pytest.mark.django_db
@pytest.mark.parametrize("forged", ["a b", "x\nINFO fake line", "é", "a" * 65, ""])
def test_a_malformed_request_id_is_replaced(client, forged):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=forged)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
def test_every_log_line_of_a_request_names_it(client, console, settings):
    settings.ROOT_URLCONF = __name__
    client.get("/logs", HTTP_X_REQUEST_ID="req-123")
    client.get("/no-such-page", HTTP_X_REQUEST_ID="req-404")  # django.request logs the 404
    lines = console.getvalue().splitlines()
    assert any("request=req-123" in line and "inside the view" in line for line in lines)
    assert any("request=req-404" in line and "Not Found" in line for line in lines)
    log.warning("outside any request")
    assert "request=- task=- job=-]: outside any request" in console.getvalue()


def test_a_task_s_log_lines_carry_its_task_id_and_job_id(console):
    _task_that_logs.apply(args=[42], task_id="task-abc")
    line = next(x for x in console.getvalue().splitlines() if "working on it" in x)
    assert "task=task-abc job=42" in line
    _task_that_logs.apply(kwargs={"job_id": 7}, task_id="task-kw")
    line = [x for x in console.getvalue().splitlines() if "working on it" in x][-1]
    assert "task=task-kw job=7" in line
    log.warning("after the task")
    assert "task=- job=-]: after the task" in console.getvalue()


class _Captured(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def sentry_off():
    yield
    sentry_sdk.get_global_scope().set_client(None)


def test_without_a_dsn_nothing_is_initialised(sentry_off):
    assert sentry_init(dsn="") is False
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.django_db
def test_with_a_dsn_a_view_s_error_reaches_sentry_without_personal_data(settings, sentry_off):
    settings.ROOT_URLCONF = __name__
    transport = _Captured()
    assert sentry_init(dsn="https://key@sentry.invalid/1", transport=transport)
    client_options = sentry_sdk.get_client().options
    assert not client_options["send_default_pii"]
    assert client_options["traces_sample_rate"] == 0.0
    assert {"django", "celery"} <= set(sentry_sdk.get_client().integrations)

    response = Client(raise_request_exception=False).get(
        "/boom", REMOTE_ADDR="203.0.113.9", HTTP_COOKIE="sessionid=secret"
    )
    sentry_sdk.flush()
    assert response.status_code == 500
    events = [
        item.payload.json for e in transport.envelopes for item in e.items if item.type == "event"
    ]
    assert any(
        v["value"] == "the view broke" for event in events for v in event["exception"]["values"]
    )
    text = repr(events)
    assert "203.0.113.9" not in text and "secret" not in text


@pytest.mark.parametrize("dsn, active", [("", "False"), ("https://key@sentry.invalid/1", "True")])
def test_the_site_starts_sentry_only_when_sentry_dsn_is_set(dsn, active):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "musicsite.test_settings", "SENTRY_DSN": dsn}
    code = "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == active
