"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Playwright never downloads a browser here; a missing Chromium fails the tests (it does not
skip them). Sync Playwright runs an event loop in this thread, so Django's async-safety check
must be relaxed for the live server's database access.

A test waits through ``expect`` or ``wait_until``, not a bare ``page.wait_for_*``: a timeout of
those raises through ``playwright/sync_api/_generated.py`` (24 k lines), which pytest's report
then parses with ``ast.parse``; on Python 3.11.7 that parse fails ("SystemError: AST
constructor recursion depth mismatch", an INTERNALERROR) when another thread parses at the same
time, as ``traceback`` does for each frame of an error the live server or the worker logs
(the AST state is shared between threads; fixed in 3.11.8, CPython gh-106905). ``expect``
hides its frames from the report (``__tracebackhide__``).
"""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

STEP_MS = 15_000  # the pages' own default timeout (``page`` below): one step of a test

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session", autouse=True)
def _test_database_before_the_live_server(django_db_setup) -> None:
    """Create the test database before pytest-django's session-wide live server starts, so on
    SQLite's in-memory database the server's threads share the test's connection (as in
    Django's LiveServerTestCase). Started first, the server saw the site's database name,
    shared nothing, and each request opened a connection of its own: a write then failed at
    once with "database table is locked" whenever another request or the worker was reading
    that table (shared-cache table locks do not wait)."""


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"Chromium is missing at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    yield page
    page.goto("about:blank")  # the player's leave-the-page report goes now, not mid-flush
    context.close()
    _wait_for_requests_in_flight()


def _wait_for_requests_in_flight(seconds: float = 10.0) -> None:
    """Wait until no other connection to the test database is running a statement or holds a
    transaction open: a request the closed page left on the live server would otherwise
    deadlock with the TRUNCATE that ends a transactional test (seen on PostgreSQL in CI)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return  # SQLite's in-memory test database is shared by the live server's threads
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
                " AND state IN ('active', 'idle in transaction')"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


def log_in(context, live_server, user) -> None:
    """Sign ``user`` in: their session cookie in the browser ``context``."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def wait_until(page, condition: str, *, what: str, timeout_ms: float = STEP_MS) -> None:
    """Wait until the JavaScript ``condition`` holds on ``page``; else fail the test, saying
    ``what`` was awaited, with no traceback through Playwright (see the module docstring)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    __tracebackhide__ = True
    try:
        page.wait_for_function(condition, timeout=timeout_ms)
        return
    except PlaywrightTimeoutError:
        pass
    raise AssertionError(f"waited {timeout_ms / 1000:g} s for {what}: {condition}")
