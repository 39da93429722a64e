"""GET /api/v1/tracks/ and /api/v1/tracks/<id>/."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Track
from tests.factories import ArtistFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_list_is_paginated_with_count_and_filters(api):
    bach = ArtistFactory(name="Bach", slug="bach")
    TrackFactory.create_batch(25, artist=bach, tempo_bpm=90)
    TrackFactory(title="Fast one", tempo_bpm=180)
    TrackFactory(title="Hidden", status=Track.Status.HIDDEN)

    body = api.get("/api/v1/tracks/").json()
    assert body["count"] == 26 and len(body["results"]) == 20 and body["next"]

    body = api.get("/api/v1/tracks/", {"composer": "bach", "tempo_max": 120}).json()
    assert body["count"] == 25
    first = body["results"][0]
    assert first["composer"] == {"name": "Bach", "slug": "bach"}
    assert first["url"].startswith("http://testserver/api/v1/tracks/")
    assert first["page_url"] == f"http://testserver/tracks/{first['id']}/"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tempo_min": "fast"}, "tempo_min"),
        ({"tempo_min": "150", "tempo_max": "90"}, "tempo_max"),
        ({"collection": "no-such-collection"}, "collection"),
    ],
)
def test_bad_filter_values_are_a_clear_400(api, params, field):
    response = api.get("/api/v1/tracks/", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"] and field in error["message"]


def test_detail_has_absolute_media_urls(api):
    track = TrackFactory(render_status=Track.RenderStatus.READY)
    track.audio_file.save("a.ogg", ContentFile(b"OggS"), save=True)
    track.pianoroll_image.save("a.png", ContentFile(b"\x89PNG"), save=True)
    body = api.get(f"/api/v1/tracks/{track.pk}/").json()
    base = "http://testserver"
    assert body["audio_url"] == base + reverse("catalog:track_audio", args=[track.pk])
    assert body["audio_mp3_url"] is None  # rendered before there was an MP3
    assert body["midi_url"] == base + reverse("catalog:track_midi", args=[track.pk])
    assert body["pianoroll_url"] == base + reverse("catalog:track_pianoroll", args=[track.pk])
    assert body["key"] == "C major" and body["note_count"] == 240


def test_detail_has_no_audio_url_until_rendered(api):
    track = TrackFactory(render_status=Track.RenderStatus.PENDING)
    body = api.get(f"/api/v1/tracks/{track.pk}/").json()
    assert body["audio_url"] is None and body["pianoroll_url"] is None
    assert body["audio_mp3_url"] is None
    assert body["render_status"] == "pending"


def test_list_and_detail_carry_both_renditions(api):
    track = TrackFactory(render_status=Track.RenderStatus.READY)
    track.audio_file.save("a.ogg", ContentFile(b"OggS"), save=False)
    track.audio_mp3_file.save("a.mp3", ContentFile(b"ID3"), save=True)
    audio = "http://testserver" + reverse("catalog:track_audio", args=[track.pk])
    item = api.get("/api/v1/tracks/").json()["results"][0]
    assert (item["audio_url"], item["audio_mp3_url"]) == (audio, audio + "?format=mp3")
    detail = api.get(f"/api/v1/tracks/{track.pk}/").json()
    assert detail["audio_mp3_url"] == audio + "?format=mp3"
    mp3 = api.get(detail["audio_mp3_url"])
    assert mp3.status_code == 200 and mp3["Content-Type"] == "audio/mpeg"


def test_detail_is_404_for_invisible_tracks(api):
    hidden = TrackFactory(status=Track.Status.HIDDEN)
    private = TrackFactory(owner=UserFactory())
    assert api.get(f"/api/v1/tracks/{hidden.pk}/").status_code == 404
    assert api.get(f"/api/v1/tracks/{private.pk}/").status_code == 404
    api.force_authenticate(private.owner)
    assert api.get(f"/api/v1/tracks/{private.pk}/").json()["is_private"] is True


def test_list_query_count_does_not_grow_with_the_page(api, django_assert_num_queries):
    TrackFactory.create_batch(3)
    with CaptureQueriesContext(connection) as small:
        api.get("/api/v1/tracks/")
    TrackFactory.create_batch(30)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(api.get("/api/v1/tracks/").json()["results"]) == 20


def test_the_catalog_pages_by_number_with_the_api_s_page_size_rules(db):
    from rest_framework.test import APIClient

    from tests.factories import TrackFactory

    for _ in range(23):
        TrackFactory()
    api = APIClient()
    first = api.get("/api/v1/tracks/").json()
    assert first["count"] == 23 and len(first["results"]) == 20  # the default
    assert len(api.get(first["next"]).json()["results"]) == 3
    for query, field in (
        ("page_size=51", "page_size"),
        ("page_size=0", "page_size"),
        ("page=9", "page"),
        ("tempo_min=", "tempo_min"),  # empty is no number (the browse page's form allows it)
    ):
        response = api.get(f"/api/v1/tracks/?{query}")
        assert response.status_code == 400, query  # not a silent cap, not a 404
        assert field in response.json()["error"]["fields"]
