"""The persistent player in Chromium: the music goes on from page to page, a queue to play and
edit, next and previous in place, a piece still being rendered plays when ready, the piano roll.

The site's links are boosted (htmx) and the player bar is preserved, so a navigation inside the
site keeps the same <audio> element playing: each test marks the window and the element, and
checks both are still the same after every step (a full page load would lose both).
"""

import re
import time

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from playwright.sync_api import expect

from accounts.library import playlists
from accounts.library.onboarding import onboarding_skip
from catalog import services
from catalog.models import Track
from catalog.rendering import SAMPLE_RATE, encode_ogg
from recommender.models import ListenEvent
from tests.e2e.conftest import log_in, wait_until
from tests.e2e.test_player import _ingest
from tests.factories import TrackFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AUDIO = "document.querySelector('[data-player-audio]')"
HEAD = "document.querySelector('[data-pianoroll-playhead]')"
TEXTS = ".map(e => e.textContent)"
BAR_TITLE = "document.querySelector('[data-player-title]').textContent"
MARK = "() => { window.__audio = " + AUDIO + "; window.__marker = 'same document'; }"


def _tone(seconds: float, hz: float) -> bytes:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return encode_ogg(np.stack([wave, wave], axis=1))


def _piece(title: str, seconds: float, hz: float) -> Track:
    track = TrackFactory(title=title, duration_seconds=seconds, render_status="ready")
    track.audio_file.save(f"{title.lower().replace(' ', '-')}.ogg", ContentFile(_tone(seconds, hz)))
    return track


def _playlist(user, name: str, tracks: list[Track]):
    playlist = playlists.playlist_create(user=user, name=name)
    for track in tracks:
        playlists.playlist_add(user=user, playlist=playlist, track_id=track.pk)
    return playlist


def _same_document(page) -> None:
    """No full page load happened: the window and the player's audio element are the same."""
    assert page.evaluate("window.__marker") == "same document"
    assert page.evaluate(f"window.__audio === {AUDIO}")


def _keeps_playing(page, what: str) -> None:
    before = page.evaluate(f"{AUDIO}.currentTime")
    wait_until(
        page,
        f"() => !{AUDIO}.paused && {AUDIO}.currentTime > {before + 0.5}",
        what=f"the audio to keep advancing {what}",
    )
    _same_document(page)


def _eventually(check, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the database")


def _reported(page) -> None:
    wait_until(
        page, "() => window.musicsiteListening.pending().length === 0", what="the reports sent"
    )


def test_music_keeps_playing_through_browse_the_feed_and_a_playlist(live_server, page):
    listener = UserFactory()
    onboarding_skip(user=listener)
    song = _piece("Long Passacaglia", 40.0, 330.0)
    other = _piece("Short Air", 6.0, 440.0)
    _playlist(listener, "Evening", [other])
    log_in(page.context, live_server, listener)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(live_server.url + reverse("catalog:track_detail", args=[song.pk]))
    page.locator("[data-player-toggle]").click()
    wait_until(page, f"() => {AUDIO}.currentTime > 0.5", what="the piece to start")
    page.evaluate(MARK)

    page.get_by_role("link", name="Browse", exact=True).click()
    page.wait_for_url("**/tracks/")
    assert page.title().startswith("Browse")
    browse = page.get_by_role("link", name="Browse", exact=True)
    assert browse.get_attribute("aria-current") == "page"
    _keeps_playing(page, "on Browse")

    page.get_by_role("link", name="Short Air").first.click()  # a piece opened from Browse
    page.wait_for_url(re.compile(rf"/tracks/{other.pk}/(\?.*)?$"))
    page.get_by_role("heading", name="Short Air", level=1).wait_for()
    assert page.locator("#main").count() == 1  # its page, not nested in Browse's results
    assert page.locator("#results").count() == 0
    _keeps_playing(page, "on a piece opened from Browse")

    page.get_by_role("link", name="For you", exact=True).click()
    page.wait_for_url("**/feed/")
    page.get_by_role("heading", name="For you").wait_for()
    _keeps_playing(page, "on the feed")

    page.get_by_role("link", name="Playlists", exact=True).click()
    page.wait_for_url("**/playlists/")
    page.get_by_role("link", name="Evening").click()
    page.get_by_role("heading", name="Evening").wait_for()
    _keeps_playing(page, "on a playlist")

    page.go_back()  # the browser's Back: htmx restores the page, the music goes on
    page.wait_for_url("**/playlists/")
    _keeps_playing(page, "after going back")
    assert page.evaluate(BAR_TITLE) == "Long Passacaglia"

    # One listen, still going: moving around the site was never a skip.
    page.locator("[data-player-toggle]").click()  # pause: its report carries the time heard
    _eventually(lambda: ListenEvent.objects.filter(user=listener, played_ms__gte=2_000).exists())
    _reported(page)
    listens = list(ListenEvent.objects.filter(user=listener))
    assert [(e.track_id, e.skipped, e.context) for e in listens] == [(song.pk, False, "track_page")]
    assert listens[0].played_ms >= 2_000
    assert errors == []

    # Leaving the site mid-piece (a real page load) ends that listen as a skip.
    page.goto("about:blank")
    listen = _eventually(lambda: ListenEvent.objects.filter(user=listener, skipped=True).first())
    assert listen.track_id == song.pk and not listen.counted


def test_next_and_previous_change_the_piece_in_place_and_the_queue_is_editable(live_server, page):
    listener = UserFactory()
    alpha = _piece("Alpha air", 20.0, 330.0)
    beta = _piece("Beta ballad", 20.0, 392.0)
    gamma = _piece("Gamma gigue", 20.0, 440.0)
    playlist = _playlist(listener, "Three", [alpha, beta, gamma])
    log_in(page.context, live_server, listener)
    url = live_server.url + reverse("library:playlist", args=[playlist.pk])
    page.goto(url)
    page.evaluate("window.__marker = 'same document'")

    # "Play all" plays the playlist here, as the queue: no page is opened.
    page.get_by_role("link", name="Play all").click()
    wait_until(page, f"() => {AUDIO}.currentTime > 0.3", what="the playlist to start")
    page.evaluate(MARK)
    assert page.evaluate(BAR_TITLE) == "Alpha air"

    bar = page.locator("[data-player-bar]")
    bar.get_by_role("button", name="Next piece").click()
    wait_until(
        page,
        f"() => {BAR_TITLE} === 'Beta ballad' && {AUDIO}.currentTime > 0.3",
        what="the next piece to play",
    )
    assert f"/tracks/{beta.pk}/audio/" in page.evaluate(f"{AUDIO}.src")
    bar.get_by_role("button", name="Previous piece").click()
    wait_until(
        page,
        f"() => {BAR_TITLE} === 'Alpha air' && {AUDIO}.currentTime > 0.3",
        what="the previous piece to play",
    )
    assert page.url == url  # never left the playlist's page
    _same_document(page)

    # The queue, by keyboard: open it, move Gamma up twice, remove Beta, clear.
    toggle = bar.locator("[data-queue-toggle]")
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    titles = "[...document.querySelectorAll('[data-queue-list] .queue-title')]" + TEXTS
    assert page.evaluate(titles) == ["Alpha air", "Beta ballad", "Gamma gigue"]
    bar.get_by_role("button", name="Move Gamma gigue up").focus()
    page.keyboard.press("Enter")
    assert page.evaluate(titles) == ["Alpha air", "Gamma gigue", "Beta ballad"]
    page.keyboard.press("Enter")  # focus stayed on Gamma's "Move up"
    assert page.evaluate(titles) == ["Gamma gigue", "Alpha air", "Beta ballad"]
    # At the top its "Move up" is disabled: focus went to its "Move down".
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Move Gamma gigue down"
    )
    bar.get_by_role("button", name="Remove Beta ballad from the queue").click()
    assert page.evaluate(titles) == ["Gamma gigue", "Alpha air"]
    assert bar.locator("[data-queue-count]").inner_text() == "2"
    bar.get_by_role("button", name="Clear the queue").click()
    assert page.evaluate(titles) == ["Alpha air"]  # the piece playing stays
    _keeps_playing(page, "after the queue was edited")

    # Every piece left before its end is a skip, each with the playlist as its context.
    _reported(page)
    listens = [
        (e.track_id, e.skipped, e.context)
        for e in ListenEvent.objects.filter(user=listener).order_by("started_at")
    ]
    assert listens == [
        (alpha.pk, True, "playlist"),
        (beta.pk, True, "playlist"),
        (alpha.pk, False, "playlist"),
    ]
    page.goto("about:blank")  # leaving: the piece playing is skipped (nothing left in flight)
    _eventually(lambda: ListenEvent.objects.filter(track=alpha, skipped=True).count() == 2)


def test_a_piece_still_being_rendered_plays_as_soon_as_it_is_ready(live_server, page):
    listener = UserFactory()
    first = _piece("Opening", 2.0, 440.0)
    waiting = TrackFactory(title="Still rendering", duration_seconds=4.0, render_status="pending")
    playlist = _playlist(listener, "Patience", [first, waiting])
    log_in(page.context, live_server, listener)
    page.goto(live_server.url + reverse("library:playlist", args=[playlist.pk]))
    page.evaluate("window.__marker = 'same document'")
    page.get_by_role("link", name="Play all").click()

    # The first piece ends; the next one has no audio yet: the player waits for it, playing.
    wait_until(
        page,
        f"() => {BAR_TITLE} === 'Still rendering'",
        what="the player to move on to the piece being rendered",
        timeout_ms=10_000,
    )
    wait = page.locator("[data-player-wait]")
    assert "it plays when ready" in wait.inner_text()
    assert page.locator("[data-player-toggle]").get_attribute("aria-label") == "Pause"
    time.sleep(1)

    waiting.audio_file.save("still-rendering.ogg", ContentFile(_tone(4.0, 330.0)), save=False)
    waiting.render_status = Track.RenderStatus.READY
    waiting.save()
    wait_until(
        page,
        f"() => {AUDIO}.src.includes('/tracks/{waiting.pk}/audio/') && {AUDIO}.currentTime > 0.3",
        what="the piece to play once its audio is there",
    )
    assert page.evaluate("window.__marker") == "same document"
    assert wait.is_hidden()
    _reported(page)
    outcomes = {
        e.track_id: (e.completed, e.context) for e in ListenEvent.objects.filter(user=listener)
    }
    assert outcomes[first.pk] == (True, "playlist")
    assert waiting.pk in outcomes
    page.goto("about:blank")  # the piece ends or is left: either way, nothing left in flight
    _eventually(
        lambda: (
            ListenEvent.objects.filter(track=waiting)
            .exclude(completed=False, skipped=False)
            .exists()
        )
    )


def test_piano_roll_appears_when_rendered_follows_the_audio_and_seeks(live_server, page):
    track = _ingest("Rolling tune", seconds=16, seed=5, render=False)
    page.goto(live_server.url + reverse("catalog:track_detail", args=[track.pk]))
    page.evaluate("window.__marker = 'same document'")
    assert page.locator("[data-pianoroll]").count() == 0

    services.track_render(track_id=track.pk)
    roll = page.locator("[data-pianoroll]")
    roll.locator("img").wait_for(state="visible")  # swapped in with the player, no reload
    assert page.evaluate("window.__marker") == "same document"
    labels = roll.locator(".pianoroll-axis li").all_inner_texts()
    assert labels and all(label[0] in "CDEFGAB" for label in labels), labels

    page.locator("[data-player-toggle]").click()
    head = roll.locator("[data-pianoroll-playhead]")
    head.wait_for(state="visible")
    wait_until(
        page,
        f"() => parseFloat({HEAD}.style.left) > 3",
        what="the playhead to move with the audio",
    )

    canvas = roll.locator("[data-pianoroll-canvas]")
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
    seconds = float(roll.get_attribute("data-seconds"))
    position = page.evaluate(f"{AUDIO}.currentTime")
    assert abs(position - seconds / 2) < 1.5, (position, seconds)
    left = page.evaluate(f"parseFloat({HEAD}.style.left)")
    assert 45 <= left <= 60, left

    # The Media Session: the lock screen and the media keys know the piece.
    session = page.evaluate(
        "() => navigator.mediaSession && ({title: navigator.mediaSession.metadata?.title,"
        " state: navigator.mediaSession.playbackState})"
    )
    if session is not None:
        assert session == {"title": "Rolling tune", "state": "playing"}


def test_clearing_a_queue_never_played_is_announced_and_keeps_the_focus_on_the_page(
    live_server, page
):
    listener = UserFactory()
    onboarding_skip(user=listener)
    _piece("First Air", 6.0, 440.0)
    _piece("Second Air", 6.0, 330.0)
    log_in(page.context, live_server, listener)
    page.goto(live_server.url + reverse("catalog:browse"))
    announce = page.locator("[data-player-announce]")
    page.get_by_role("button", name="Queue First Air").click()
    page.get_by_role("button", name="Queue Second Air").click()
    page.locator("[data-queue-toggle]").click()
    page.get_by_role("button", name="Clear the queue").click()
    wait_until(page, "() => document.querySelector('[data-player-bar]').hidden", what="the bar hid")
    expect(announce).to_have_text("Queue cleared.")
    assert page.evaluate(
        "() => document.querySelector('[data-player-announce]').closest('[hidden]') === null"
    )  # a live region inside a hidden element is never read out
    assert page.evaluate("() => document.activeElement.id") == "main"
