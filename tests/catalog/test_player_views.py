"""What the pages hand the persistent player (static/js/player.js), and boosted navigation.

The player bar is on every page, preserved through htmx-boosted navigations; a boosted request
gets the whole page, never the fragment an htmx swap of part of a page gets.
"""

import json
import re
from html import unescape

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django_htmx.http import HTMX_STOP_POLLING

from catalog import player, services
from catalog.models import Track
from tests.factories import CollectionFactory, GenerationJobFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
FRAGMENT = {"HX-Request": "true"}


def _ready(track: Track, *, roll: bool = False) -> Track:
    track.render_status = Track.RenderStatus.READY
    track.audio_file.save(f"{track.pk}.ogg", ContentFile(b"OggS"), save=False)
    if roll:
        track.pianoroll_image.save(f"{track.pk}.png", ContentFile(b"\x89PNG"), save=False)
    track.save()
    return track


def _attribute(html: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return unescape(match.group(1))


def test_every_page_has_one_preserved_player_and_its_scripts_in_the_head(client):
    client.force_login(UserFactory())
    html = client.get(reverse("catalog:browse")).content.decode()
    head, body = html.split("</head>", 1)
    assert html.count('id="player-bar"') == 1
    bar = re.search(r"<section id=\"player-bar\"[^>]*>", body).group(0)
    assert "hx-preserve" in bar and "hidden" in bar  # JavaScript shows it with a piece
    assert 'hx-boost="true"' in re.search(r"<body[^>]*>", body).group(0)
    for script in ("js/site.js", "js/player.js", "js/listening.js", "js/feed.js"):
        assert script in head and script not in body  # run once, never again by a swap


def test_links_that_are_not_pages_are_never_boosted(client):
    track = _ready(TrackFactory())
    html = client.get(track.get_absolute_url()).content.decode()
    midi = re.search(r"<a [^>]*href=\"/tracks/\d+/midi/\"[^>]*>", html).group(0)
    assert 'hx-boost="false"' in midi
    login = client.get(reverse("accounts:login")).content.decode()
    assert re.search(r'<form method="post" hx-boost="false"', login)  # a new session: a page load


def test_a_boosted_request_gets_the_whole_page_a_fragment_request_the_fragment(client):
    TrackFactory(title="Morning reel")
    url = reverse("catalog:browse")
    boosted = client.get(url, headers=BOOSTED).content.decode()
    fragment = client.get(url, headers=FRAGMENT).content.decode()
    assert 'id="player-bar"' in boosted and "<h1>" in boosted
    assert "hx-swap-oob" not in boosted  # out-of-band swaps only for a fragment
    assert 'id="player-bar"' not in fragment and 'id="results"' in fragment
    restore = client.get(url, headers={**FRAGMENT, "HX-History-Restore-Request": "true"})
    assert 'id="player-bar"' in restore.content.decode()


def test_boosted_feed_radio_and_job_pages_are_whole_pages(client):
    listener = UserFactory()
    client.force_login(listener)
    from accounts.library.onboarding import onboarding_skip

    onboarding_skip(user=listener)
    seed = _ready(TrackFactory())
    job = GenerationJobFactory(user=listener, status="succeeded", progress=100, track=seed)
    for url in (
        reverse("feed:feed"),
        reverse("feed:radio", args=[seed.pk]),
        reverse("generator:job_detail", args=[job.pk]),
    ):
        assert 'id="player-bar"' in client.get(url, headers=BOOSTED).content.decode(), url


def test_the_track_page_hands_the_player_its_queue_with_each_piece(client):
    collection = CollectionFactory(name="Reels")
    a, b, c = (_ready(TrackFactory(title=t, collection=collection)) for t in ("A", "B", "C"))
    pending = TrackFactory(title="D", collection=collection, render_status="pending")
    queue = f"{a.pk},{b.pk},{pending.pk},{c.pk}"
    html = client.get(b.get_absolute_url(), {"queue": queue, "context": "feed"}).content.decode()
    items = json.loads(_attribute(html, "data-queue-items"))
    assert [item["id"] for item in items] == [a.pk, b.pk, pending.pk, c.pk]
    assert _attribute(html, "data-queue-index") == "1"
    assert _attribute(html, "data-queue-name") == "your feed"
    by_id = {item["id"]: item for item in items}
    assert by_id[b.pk]["audio"] == reverse("catalog:track_audio", args=[b.pk])
    assert by_id[b.pk]["title"] == "B" and by_id[b.pk]["collection"] == "Reels"
    assert by_id[pending.pk]["audio"] is None and by_id[pending.pk]["status"] == "pending"
    assert "<audio controls" in html  # without JavaScript, the browser's own player


def test_cards_carry_their_piece_for_the_queue(client):
    track = _ready(TrackFactory(title="Jig of the cards"))
    html = client.get(reverse("catalog:browse")).content.decode()
    item = json.loads(_attribute(html, "data-queue-item"))
    assert item["id"] == track.pk and item["title"] == "Jig of the cards"
    assert "data-queue-source" in html and "data-queue-play-all" in html


def test_status_is_the_queue_item_and_asks_for_a_pending_piece_soon(client, monkeypatch):
    asked = []
    monkeypatch.setattr(services, "track_render_soon", lambda track_id: asked.append(track_id))
    track = TrackFactory(render_status="pending", duration_seconds=12.5)
    url = reverse("catalog:track_status", args=[track.pk])
    response = client.get(url)
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["id"] == track.pk and body["audio"] is None and body["status"] == "pending"
    assert body["durationMs"] == 12_500
    assert asked == [track.pk]

    _ready(track)
    body = client.get(url).json()
    assert body["audio"] == reverse("catalog:track_audio", args=[track.pk])
    assert asked == [track.pk]  # nothing more to render


def test_status_of_a_piece_the_listener_may_not_see_is_a_404(client):
    hidden = TrackFactory(status="hidden")
    assert client.get(reverse("catalog:track_status", args=[hidden.pk])).status_code == 404


def test_the_drawn_piano_roll_comes_with_the_last_poll(client):
    track = TrackFactory(render_status="pending", pitch_min=60, pitch_max=72)
    page = client.get(track.get_absolute_url()).content.decode()
    assert f'id="pianoroll-{track.pk}"' in page and "data-pianoroll " not in page
    _ready(track, roll=True)
    poll = client.get(reverse("catalog:track_player", args=[track.pk]), headers=FRAGMENT)
    assert poll.status_code == HTMX_STOP_POLLING
    html = poll.content.decode()
    assert f'id="pianoroll-{track.pk}" hx-swap-oob="true"' in html
    assert "data-pianoroll-playhead" in html
    assert re.findall(r'class="is-octave" style="bottom: [\d.]+%">(C\d)<', html) == ["C4", "C5"]


def test_pitch_axis_marks_every_c_and_the_outer_notes():
    labels = player.pitch_axis(55, 67)  # G3 to G4: the roll spans F3 to A4
    assert [(label["name"], label["octave"]) for label in labels] == [
        ("G3", False),
        ("C4", True),
        ("G4", False),
    ]
    assert labels[1]["bottom"] == pytest.approx(7 / 17 * 100, abs=0.01)
    assert player.pitch_axis(None, None) == []
