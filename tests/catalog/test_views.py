"""The browse page and the track page, as a listener sees them."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_htmx.http import HTMX_STOP_POLLING

from catalog.models import Track
from catalog.templatetags.music import mmss, note_name
from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_browse_lists_visible_tracks_with_their_metadata(client):
    TrackFactory(
        title="Wachet auf",
        artist=ArtistFactory(name="J. S. Bach"),
        collection=CollectionFactory(name="Bach chorales"),
        key="E-flat major",
        tempo_bpm=88.4,
        duration_seconds=125,
    )
    TrackFactory(title="Secret draft", status=Track.Status.DRAFT)
    html = client.get(reverse("catalog:browse")).content.decode()
    assert "Wachet auf" in html
    assert "J. S. Bach" in html and "Bach chorales" in html
    assert "2:05" in html and "88 bpm" in html and "E-flat major" in html
    assert "Secret draft" not in html


def test_browse_filters_work_as_a_plain_get_form(client):
    bach = ArtistFactory(name="Bach", slug="bach")
    TrackFactory(title="Chorale", artist=bach, tempo_bpm=80)
    TrackFactory(title="Jig", tempo_bpm=160)
    html = client.get(reverse("catalog:browse"), {"composer": "bach", "tempo_max": 100}).content
    assert b"Chorale" in html and b"Jig" not in html
    assert b"Showing 1\xe2\x80\x931 of 1 matching" in html


def test_browse_shows_a_clear_error_for_a_bad_tempo_and_keeps_the_other_filters(client):
    TrackFactory(title="Minor piece", key="A minor")
    TrackFactory(title="Major piece", key="C major")
    params = {"tempo_min": "fast", "key": "A minor"}
    html = client.get(reverse("catalog:browse"), params).content.decode()
    assert "Enter the tempo as a whole number" in html
    assert "some filters were left out" in html
    assert "Minor piece" in html and "Major piece" not in html


def test_browse_paginates_24_a_page(client):
    TrackFactory.create_batch(30)
    first = client.get(reverse("catalog:browse"))
    assert len(first.context["tracks"]) == 24
    assert b"Page 1 of 2" in first.content
    second = client.get(reverse("catalog:browse"), {"page": 2})
    assert len(second.context["tracks"]) == 6


def test_browse_htmx_request_gets_only_the_results_partial(client):
    TrackFactory(title="Partial piece")
    response = client.get(reverse("catalog:browse"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'id="results"' in html and "Partial piece" in html
    assert "<html" not in html and 'role="search"' not in html
    assert "HX-Request" in response["Vary"]


def test_browse_query_count_does_not_grow_with_the_page(client, django_assert_num_queries):
    tag = TagFactory()
    for track in TrackFactory.create_batch(3):
        track.tags.add(tag)
    client.get(reverse("catalog:browse"))  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("catalog:browse"))
    for track in TrackFactory.create_batch(21):
        track.tags.add(tag)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("catalog:browse"))
    assert len(response.context["tracks"]) == 24


def test_track_page_shows_metadata_player_and_downloads(client):
    track = TrackFactory(title="Fugue", render_status=Track.RenderStatus.READY, pitch_min=60)
    track.audio_file.save("fugue.ogg", ContentFile(b"OggS"), save=True)
    track.pianoroll_image.save("fugue.png", ContentFile(b"\x89PNG"), save=True)
    html = client.get(track.get_absolute_url(), {"context": "browse"}).content.decode()
    assert "Fugue" in html
    assert f'data-track-id="{track.pk}"' in html and 'data-context="browse"' in html
    assert "<audio controls" in html  # the no-JS fallback
    assert reverse("catalog:track_audio", args=[track.pk]) in html
    assert reverse("catalog:track_midi", args=[track.pk]) in html
    assert reverse("catalog:track_pianoroll", args=[track.pk]) in html
    assert "C4" in html


def test_track_page_queue_links_to_previous_and_next(client):
    a, b, c = TrackFactory(), TrackFactory(), TrackFactory()
    for track in (a, b, c):
        track.render_status = Track.RenderStatus.READY
        track.audio_file.save(f"{track.pk}.ogg", ContentFile(b"OggS"), save=True)
    response = client.get(b.get_absolute_url(), {"queue": f"{a.pk},{b.pk},{c.pk}"})
    html = response.content.decode()
    assert response.context["previous_id"] == a.pk and response.context["next_id"] == c.pk
    assert f'data-next-url="/tracks/{c.pk}/?queue={a.pk}%2C{b.pk}%2C{c.pk}' in html
    assert "Piece 2 of 3 in this queue" in html
    from_feed = client.get(b.get_absolute_url(), {"queue": f"{a.pk},{b.pk}", "context": "feed"})
    assert "Piece 2 of 2 in your feed" in from_feed.content.decode()


@pytest.mark.parametrize("queue", ["²", "1,²,3", str(2**31), "9" * 30])
def test_a_queue_of_ids_no_row_can_have_is_ignored_not_a_500(client, queue):
    track = TrackFactory()
    for url in (track.get_absolute_url(), f"{track.get_absolute_url()}player/"):
        assert client.get(url, {"queue": queue}).status_code == 200


def test_a_track_page_opened_directly_names_its_collection_as_the_queue(client):
    collection = CollectionFactory(name="Bach chorales")
    _first, second = (
        TrackFactory(title=title, collection=collection, render_status=Track.RenderStatus.READY)
        for title in ("A chorale", "B chorale")
    )
    second.audio_file.save(f"{second.pk}.ogg", ContentFile(b"OggS"), save=True)
    html = client.get(second.get_absolute_url()).content.decode()
    assert "Piece 2 of 2 in Bach chorales, by title" in html


@pytest.mark.parametrize("kind", ["hidden", "draft", "private"])
def test_track_page_is_404_for_tracks_the_listener_may_not_see(client, kind):
    if kind == "private":
        track = TrackFactory(owner=UserFactory())
        client.force_login(UserFactory())
    else:
        track = TrackFactory(status=kind)
    assert client.get(track.get_absolute_url()).status_code == 404


def test_owner_sees_their_private_track(client):
    owner = UserFactory()
    track = TrackFactory(owner=owner, title="Made for me")
    client.force_login(owner)
    assert b"Made for me" in client.get(track.get_absolute_url()).content


def test_pending_audio_polls_then_stops_when_ready(client):
    track = TrackFactory(render_status=Track.RenderStatus.PENDING)
    page = client.get(track.get_absolute_url()).content.decode()
    assert "Audio is being prepared" in page and 'hx-trigger="every 2s"' in page

    player_url = reverse("catalog:track_player", args=[track.pk])
    pending = client.get(player_url, headers={"HX-Request": "true"})
    assert pending.status_code == 200 and b"being prepared" in pending.content

    track.render_status = Track.RenderStatus.READY
    track.audio_file.save("x.ogg", ContentFile(b"OggS"), save=True)
    ready = client.get(player_url, headers={"HX-Request": "true"})
    assert ready.status_code == HTMX_STOP_POLLING
    assert b"data-player" in ready.content and b"being prepared" not in ready.content


def test_home_welcomes_anonymous_visitors_with_a_few_pieces(client):
    """Pieces of every collection (ready to play first), not the first eight of one."""
    airs, reels = CollectionFactory(name="Airs"), CollectionFactory(name="Reels")
    for n in range(12):
        TrackFactory(title=f"Air {n:02d}", collection=airs, render_status="ready")
    TrackFactory(title="Air not rendered yet", collection=airs, render_status="pending")
    TrackFactory(title="Reel being rendered", collection=reels, render_status="rendering")
    html = client.get(reverse("home")).content.decode()
    assert "Create a free account" in html and reverse("accounts:signup") in html
    assert html.count('class="track-card"') == 8
    assert "Reel being rendered" in html  # its collection has nothing ready yet
    assert "Air not rendered yet" not in html  # its collection has pieces ready
    assert "context=home" in html


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (59.6, "1:00"), (125, "2:05"), (3723, "1:02:03")]
)
def test_durations_read_like_a_clock(seconds, shown):
    assert mmss(seconds) == shown


def test_pitches_read_as_note_names():
    assert [note_name(p) for p in (21, 60, 61, 108)] == ["A0", "C4", "C\u266f4", "C8"]
