"""The listening log end to end, in Chromium: play past the threshold, skip, rate, see history.

The pieces are short real audio (Ogg Vorbis sine tones) so that the real rule applies: a play
counts after 30 s or half the piece, so an 8-s piece counts at 4 s.
"""

import time

import numpy as np
import pytest
from django.core.files.base import ContentFile

from catalog.models import Track
from catalog.rendering import SAMPLE_RATE, encode_ogg
from recommender.models import ListenEvent, Rating
from tests.e2e.conftest import log_in
from tests.factories import TrackFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def tone(seconds: float, hz: float) -> bytes:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return encode_ogg(np.stack([wave, wave], axis=1))


def piece(title: str, seconds: float, hz: float):
    track = TrackFactory(title=title, duration_seconds=seconds, render_status="ready")
    track.audio_file.save(f"{title.lower().replace(' ', '-')}.ogg", ContentFile(tone(seconds, hz)))
    return track


@pytest.fixture
def browser_page(browser):
    """A fresh browser context on the shared Chromium (``tests/e2e/conftest.py``)."""
    context = browser.new_context()
    yield context
    context.close()


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the database")


def test_play_skip_rate_then_history_shows_exactly_that(
    transactional_db, live_server, browser_page
):
    listener = UserFactory(username="ada")
    short = piece("Short Prelude", 8.0, 440.0)  # counts after 4 s
    longer = piece("Long Fantasia", 20.0, 330.0)  # counts after 10 s: skipped after ~1.5 s
    rated = piece("Rated Chorale", 8.0, 262.0)
    log_in(browser_page, live_server, listener)
    page = browser_page.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. Play the short piece to the end.
    page.goto(f"{live_server.url}/tracks/{short.pk}/")
    page.click("[data-player-toggle]")
    page.wait_for_function("document.querySelector('[data-player-audio]').ended", timeout=20_000)
    page.wait_for_function("window.musicsiteListening.pending().length === 0")

    # 2. Start the longer piece and leave it after ~1.5 s: the player reports a skip.
    page.goto(f"{live_server.url}/tracks/{longer.pk}/")
    page.click("[data-player-toggle]")
    page.wait_for_function("document.querySelector('[data-player-audio]').currentTime > 1.5")

    # 3. Rate the third piece (leaving the second page sends the skip by beacon).
    page.goto(f"{live_server.url}/tracks/{rated.pk}/")
    page.click(f"#rating-controls-{rated.pk} button[name=stars][value='4']")
    page.wait_for_selector(f"#rating-controls-{rated.pk} [data-rating-value]")
    assert page.inner_text(f"#rating-controls-{rated.pk} [data-rating-value]") == "4"

    skipped = wait_for(lambda: ListenEvent.objects.filter(track=longer, skipped=True).first())
    page.wait_for_function("window.musicsiteListening.pending().length === 0")
    listens = list(ListenEvent.objects.order_by("started_at"))
    assert [(e.track_id, e.user_id) for e in listens] == [
        (short.pk, listener.pk),
        (longer.pk, listener.pk),
    ]
    played = listens[0]
    assert played.counted and played.completed and not played.skipped
    assert played.played_ms >= 4_000
    assert skipped.skipped and not skipped.counted and not skipped.completed
    assert 1_000 <= skipped.played_ms < 10_000
    assert [(r.track_id, r.stars, r.liked) for r in Rating.objects.all()] == [(rated.pk, 4, False)]

    # 4. The history page shows them.
    page.goto(f"{live_server.url}/history/")
    rows = page.locator("[data-history=listens] [data-listen]")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-outcome") == "skipped"
    assert "Long Fantasia" in rows.nth(0).inner_text()
    assert rows.nth(1).get_attribute("data-outcome") == "completed"
    assert "Short Prelude" in rows.nth(1).inner_text()
    assert "Rated Chorale" in page.inner_text("[data-history=rated]")
    assert errors == []


def test_failed_sends_are_retried_with_the_same_ids(transactional_db, live_server, browser_page):
    listener = UserFactory(username="grace")
    short = piece("Offline Etude", 8.0, 494.0)
    log_in(browser_page, live_server, listener)
    page = browser_page.new_page()
    failures: list[str] = []

    def flaky(route):
        if len(failures) < 3:  # the network drops the first sends
            failures.append(route.request.post_data or "")
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/listens/", flaky)
    page.goto(f"{live_server.url}/tracks/{short.pk}/")
    page.click("[data-player-toggle]")
    page.wait_for_function("document.querySelector('[data-player-audio]').ended", timeout=20_000)
    for _ in range(20):  # flush() resolves after one send attempt
        page.evaluate("window.musicsiteListening.flush()")
        if page.evaluate("window.musicsiteListening.pending().length") == 0:
            break
        time.sleep(0.5)
    assert page.evaluate("window.musicsiteListening.pending().length") == 0
    assert len(failures) == 3
    listen = wait_for(lambda: ListenEvent.objects.filter(completed=True).first())
    assert ListenEvent.objects.count() == 1  # the retried reports merged into one listen
    assert listen.counted and listen.user == listener
    assert str(listen.client_event_id) in failures[0]  # the id the first, failed send carried


@pytest.mark.parametrize("player", ["on the page", "swapped in by htmx"])
def test_leaving_the_site_mid_piece_still_records_the_skip(
    transactional_db, live_server, browser_page, player
):
    """Going to another page of the site (a boosted link: the menu's History) is not leaving the
    piece: it goes on, and no skip is sent. Leaving the site for real (a full page load) is: the
    skip must leave with the page itself, even while an earlier report is still in flight (held
    here until the page is gone), and when the player got the piece after the page (its audio
    was still being rendered)."""
    listener = UserFactory(username="hedy")
    longer = piece("Leaving Fugue", 20.0, 392.0)
    if player == "swapped in by htmx":
        Track.objects.filter(pk=longer.pk).update(render_status=Track.RenderStatus.PENDING)
    log_in(browser_page, live_server, listener)
    page = browser_page.new_page()
    held = []
    page.route("**/api/v1/listens/", lambda route: held.append(route))  # never answered
    page.goto(f"{live_server.url}/tracks/{longer.pk}/")
    if player == "swapped in by htmx":
        page.wait_for_selector("text=Audio is being prepared")
        Track.objects.filter(pk=longer.pk).update(render_status=Track.RenderStatus.READY)
    page.click("[data-player-toggle]")
    page.wait_for_function("document.querySelector('[data-player-audio]').currentTime > 1.5")

    page.evaluate("window.__sameDocument = true")
    page.click("nav a:text-is('History')")  # boosted: the piece plays on
    page.wait_for_url("**/history/")
    page.wait_for_function("document.querySelector('[data-player-audio]').currentTime > 2.5")
    assert page.evaluate("window.__sameDocument") is True
    assert not page.evaluate("document.querySelector('[data-player-audio]').paused")
    time.sleep(0.5)
    assert not ListenEvent.objects.filter(track=longer, skipped=True).exists()

    page.goto(f"{live_server.url}/history/")  # a full page load: the site's page is left
    skipped = wait_for(lambda: ListenEvent.objects.filter(track=longer, skipped=True).first())
    assert held  # the start report was held in flight
    assert skipped.user_id == listener.pk and not skipped.counted
    assert 2_000 <= skipped.played_ms < 10_000
