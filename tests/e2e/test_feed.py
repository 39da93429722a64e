"""The feed in Chromium: sign up, onboard, a feed from the picks, play and rate, it changes.

A new listener signs up, picks "Irish folk" at onboarding and sees a feed built from that choice.
They play a piece to the end and rate it: back home, the feed leads with what follows from that
piece. Then they mark a feed item "not interested": the items after it are fetched again (no
page reload) and are different ones.
"""

import os

import numpy as np
import pytest
from django.core.files.base import ContentFile

from catalog.rendering import SAMPLE_RATE, encode_ogg
from recommender.feed.content import reset_catalog_index
from recommender.feed.context import reset_popularity
from recommender.models import ListenEvent, Rating
from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _tone(seconds: float, hz: float) -> bytes:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return encode_ogg(np.stack([wave, wave], axis=1))


@pytest.fixture
def small_catalog(transactional_db):
    """Chorales and Irish tunes, each with a short real audio file (plays count after 2 s)."""
    audio = ContentFile(_tone(4.0, 440.0))
    groups = [
        ("Bach chorales", "J. S. Bach", "calm", "D minor", 66, "Church Organ"),
        ("Irish folk", "Traditional", "lively", "G major", 150, "Fiddle"),
        ("Irish airs", "O'Carolan", "lively", "D major", 120, "Fiddle"),
    ]
    for name, composer, tag_name, key, tempo, instrument in groups:
        collection = CollectionFactory(name=name, slug=name.lower().replace(" ", "-"))
        artist = ArtistFactory(name=composer, slug=composer.lower().replace(" ", "-"))
        tag = TagFactory(name=tag_name, slug=tag_name)
        for i in range(14):
            track = TrackFactory(
                title=f"{name[:-1] if name.endswith('s') else name} {i}",
                collection=collection,
                artist=artist,
                key=key,
                tempo_bpm=tempo + i,
                instruments=[instrument],
                duration_seconds=4.0,
                render_status="ready",
            )
            track.tags.add(tag)
            track.audio_file.save(f"t{track.pk}.ogg", audio, save=True)
    reset_catalog_index()
    reset_popularity()
    yield
    reset_catalog_index()


def _feed_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "[data-feed-list] [data-feed-item]", "els => els.map(e => e.dataset.trackId)"
    )


def test_new_listener_onboards_plays_rates_and_the_feed_changes(live_server, page, small_catalog):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Sign up; sign-up ends with onboarding.
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("input[name=username]", "newlistener")
    page.fill("input[name=email]", "new@example.com")
    page.fill("input[name=password1]", "a-long-passphrase-42")
    page.fill("input[name=password2]", "a-long-passphrase-42")
    page.click("main button[type=submit]")
    page.wait_for_selector("[data-onboarding-form]")

    page.check("[data-pick-group=collections] input[value=irish-folk]")
    page.click("[data-onboarding-submit]")
    page.wait_for_selector("[data-feed-list] [data-feed-item]")
    reasons = page.eval_on_selector_all(".feed-reason", "els => els.map(e => e.textContent)")
    assert reasons.count("Because you chose Irish folk") >= 5, reasons

    # Play the first piece to the end and rate it 5 stars, from its own page.
    first = page.locator("[data-feed-item]").first
    first_id = first.get_attribute("data-track-id")
    first_title = first.locator(".track-card h3 a").inner_text()
    # A queue of one piece, so the player stays on it when it ends.
    page.goto(f"{live_server.url}/tracks/{first_id}/?queue={first_id}&context=feed")
    page.click("[data-player-toggle]")
    page.wait_for_function("document.querySelector('[data-player-audio]').ended", timeout=20_000)
    page.wait_for_function("window.musicsiteListening.pending().length === 0")
    page.click(f"#rating-controls-{first_id} button[name=stars][value='5']")
    page.wait_for_selector(f"#rating-controls-{first_id} [data-rating-value]")
    assert ListenEvent.objects.filter(track_id=first_id, counted=True).exists()

    # Back home: the feed now starts from what was just played, and drops the piece itself.
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("[data-feed-list] [data-feed-item]")
    ids = _feed_ids(page)
    reasons = page.eval_on_selector_all(".feed-reason", "els => els.map(e => e.textContent)")
    assert first_id not in ids
    assert f"Because you played {first_title}" in reasons, reasons

    # "Not interested" on the top item: the items after it are replaced without a reload.
    page.evaluate("window.__sameDocument = true")
    anchor = ids[0]
    before_after_anchor = ids[1:]
    page.click(f"#rating-controls-{anchor} [data-not-interested]")
    page.wait_for_function(
        "ids => { const now = [...document.querySelectorAll('[data-feed-list] [data-feed-item]')]"
        ".map(e => e.dataset.trackId); return now.length > 1 && now[1] !== ids[0]; }",
        arg=before_after_anchor,
    )
    assert page.evaluate("window.__sameDocument") is True
    now = _feed_ids(page)
    assert now[0] == anchor
    assert not set(now[1:]) & set(before_after_anchor)
    assert Rating.objects.filter(track_id=anchor, not_interested=True).exists()
    assert errors == []
