"""The player in a real browser: play, time advances, seeking, events, queue, polling."""

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import Track
from tests.catalog.midi_samples import midi_bytes
from tests.e2e.conftest import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AUDIO = "document.querySelector('[data-player-audio]')"

# Records the player's events in sessionStorage so they survive a page change.
RECORD_EVENTS = """
for (const name of ["play", "pause", "progress", "ended", "skip"]) {
  document.addEventListener("player:" + name, (event) => {
    const log = JSON.parse(sessionStorage.getItem("events") || "[]");
    log.push({name, ...event.detail, url: location.pathname});
    sessionStorage.setItem("events", JSON.stringify(log));
  });
}
"""


# Resolves when htmx has settled the next swap (its new content then answers events).
SETTLED = """() => { window.__settled = new Promise((resolve) =>
  document.body.addEventListener("htmx:afterSettle", resolve, { once: true })); }"""


def _ingest(title: str, seconds: float, seed: int, *, render: bool = True) -> Track:
    """A real track: MIDI through the ingest service, audio through the rendering service."""
    notes = int(seconds / 0.25)
    data = midi_bytes(notes=notes, seconds_per_note=0.25, seed=seed, pitch=60 + seed)
    track = services.track_ingest(filename=f"{title}.mid", data=data, title=title)
    if render:
        track = services.track_render(track_id=track.pk)
        assert track.render_status == Track.RenderStatus.READY, track.render_error
    return track


def _events(page) -> list[dict]:
    return page.evaluate("JSON.parse(sessionStorage.getItem('events') || '[]')")


def test_play_advances_and_seeking_jumps(live_server, page):
    track = _ingest("Long walk", seconds=24, seed=0)
    page.add_init_script(RECORD_EVENTS)
    page.goto(live_server.url + reverse("catalog:track_detail", args=[track.pk]))

    toggle = page.locator("[data-player-toggle]")
    assert toggle.is_visible() and toggle.get_attribute("aria-label") == "Play"
    toggle.click()
    page.wait_for_function(f"{AUDIO}.currentTime > 0.5")
    assert toggle.get_attribute("aria-label") == "Pause"
    # While playing, a progress event every 5 s.
    page.wait_for_function("(sessionStorage.getItem('events') || '').includes('progress')")

    # Keyboard on the slider: each ArrowRight seeks 5 s forward.
    before = page.evaluate(f"{AUDIO}.currentTime")
    page.locator("[data-player-seek]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    after = page.evaluate(f"{AUDIO}.currentTime")
    assert after >= before + 9, (before, after)

    # Dragging the slider (an input event) jumps to that point.
    page.locator("[data-player-seek]").fill("20")
    assert abs(page.evaluate(f"{AUDIO}.currentTime") - 20) < 1
    assert page.locator("[data-player-current]").inner_text() in {"0:20", "0:21"}

    # Space away from a button pauses.
    page.locator("h1").click()
    page.keyboard.press("Space")
    page.wait_for_function(f"{AUDIO}.paused")
    page.wait_for_function("(sessionStorage.getItem('events') || '').includes('pause')")

    names = [event["name"] for event in _events(page)]
    assert names[0] == "play" and "progress" in names and "pause" in names
    progress = next(e for e in _events(page) if e["name"] == "progress")
    assert progress["positionMs"] >= 4000
    play = _events(page)[0]
    assert play["trackId"] == track.pk and play["context"] == "track_page"
    assert 23_000 <= play["durationMs"] <= 26_000


def test_queue_moves_on_when_a_piece_ends_and_reports_skips(live_server, page):
    first = _ingest("First", seconds=3, seed=1)
    second = _ingest("Second", seconds=3, seed=2)
    page.add_init_script(RECORD_EVENTS)
    queue = f"{first.pk},{second.pk}"
    page.goto(
        live_server.url
        + reverse("catalog:track_detail", args=[first.pk])
        + f"?queue={queue}&context=browse"
    )
    page.locator("[data-player-toggle]").click()
    # At the end of the first piece the player opens the next one and keeps playing.
    page.wait_for_url(f"**/tracks/{second.pk}/**")
    page.wait_for_function(f"{AUDIO} && {AUDIO}.currentTime > 0.2")
    page.locator("[data-player-previous]").click()
    page.wait_for_url(f"**/tracks/{first.pk}/**")

    events = [(e["name"], e["trackId"], e["context"]) for e in _events(page)]
    assert ("ended", first.pk, "browse") in events
    assert ("play", second.pk, "browse") in events
    # Left the second piece before its end: one skip (the click), not a second on page hide.
    assert events.count(("skip", second.pk, "browse")) == 1
    assert events.index(("ended", first.pk, "browse")) < events.index(("play", second.pk, "browse"))


def test_pending_audio_polls_until_the_player_appears(live_server, page):
    track = _ingest("Being prepared", seconds=4, seed=3, render=False)
    page.goto(live_server.url + reverse("catalog:track_detail", args=[track.pk]))
    assert page.get_by_text("Audio is being prepared").is_visible()
    services.track_render(track_id=track.pk)
    page.locator("[data-player-toggle]").wait_for(state="visible")
    page.locator("[data-player-toggle]").click()
    page.wait_for_function(f"{AUDIO}.currentTime > 0.2")


def test_browse_filters_swap_results_in_place(live_server, page):
    _ingest("Alpha tune", seconds=2, seed=4, render=False)
    _ingest("Beta tune", seconds=2, seed=5, render=False)
    page.goto(live_server.url + reverse("catalog:browse"))
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("Search", exact=True).fill("beta")
    page.get_by_text("Showing 1\u20131 of 1 matching").wait_for()
    assert "q=beta" in page.url  # hx-push-url keeps the address shareable
    assert page.locator(".track-card").count() == 1
    assert page.evaluate("window.__marker") == "same page"  # swapped by htmx, not reloaded


def test_browse_filter_errors_show_beside_their_field_when_swapped_in(live_server, page):
    _ingest("Gamma tune", seconds=2, seed=6, render=False)
    page.goto(live_server.url + reverse("catalog:browse"))
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("From").fill("170")
    page.get_by_label("To").fill("150")
    page.get_by_label("To").dispatch_event("change")
    error = page.locator("#field-errors-tempo_max")
    error.get_by_text("The upper tempo must not be below the lower one.").wait_for()
    assert page.evaluate("window.__marker") == "same page"  # swapped by htmx, not reloaded
    page.get_by_label("To").fill("190")
    page.get_by_label("To").dispatch_event("change")
    error.get_by_text("The upper tempo").wait_for(state="detached")  # fixed: the error goes


def test_adding_to_a_playlist_keeps_the_music_playing(live_server, page):
    track = _ingest("Evening song", seconds=20, seed=7)
    log_in(page.context, live_server, UserFactory())
    page.goto(live_server.url + reverse("catalog:track_detail", args=[track.pk]))
    page.evaluate("window.__marker = 'same page'")
    page.locator("[data-player-toggle]").click()
    page.wait_for_function(f"{AUDIO}.currentTime > 0.3")

    page.get_by_label("Add to a new playlist").fill("For the road")
    page.evaluate(SETTLED)
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text('Added to "For the road".').wait_for()
    page.evaluate("window.__settled")
    assert page.evaluate("document.activeElement.id") == f"add-to-playlist-submit-{track.pk}"
    page.keyboard.press("Enter")  # focus stayed on "Add": the same piece again, by keyboard
    page.get_by_text("That piece is already in this playlist.").wait_for()

    assert page.evaluate("window.__marker") == "same page"  # swapped in, never reloaded
    assert not page.evaluate(f"{AUDIO}.paused")
    chosen = page.get_by_label("Add to playlist").locator("option:checked")
    assert chosen.inner_text() == "For the road"  # the new playlist, now listed and chosen
