"""The feed, similar pieces and radio through the API."""

import pytest
from rest_framework.test import APIClient

from musicsite.pagination import ids_cursor, offset_cursor
from recommender.feed.cursor import FeedCursor
from recommender.feed.sources import REASON_CODES, SOURCES
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


def test_feed_needs_a_token():
    response = APIClient().get("/api/v1/feed/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_feed_items_carry_what_a_player_needs(as_alice, catalog):
    from django.core.files.base import ContentFile

    from catalog.models import Track

    rendered = catalog["chorales"] + catalog["irish"]
    for track in rendered:
        track.audio_file.save(f"{track.pk}.ogg", ContentFile(b"OggS" + bytes(500)), save=False)
        track.render_status = Track.RenderStatus.READY
        track.save(update_fields=["audio_file", "render_status"])
    items = as_alice.get("/api/v1/feed/?page_size=5").json()["results"]
    for item in items:
        piece = item["track"]
        assert piece["duration_seconds"] > 0 and "pianoroll_url" in piece
        audio = as_alice.get(piece["audio_url"], HTTP_RANGE="bytes=0-3")
        assert audio.status_code == 206 and b"".join(audio.streaming_content) == b"OggS"
    unrendered = TrackFactory(title="Still rendering")
    detail = as_alice.get(f"/api/v1/tracks/{unrendered.pk}/").json()
    assert detail["audio_url"] is None


def test_feed_pages_with_reasons_and_cursor(as_alice, catalog):
    first = as_alice.get("/api/v1/feed/?page_size=5").json()
    assert len(first["results"]) == 5
    item = first["results"][0]
    assert item["reason"]["text"] and item["reason"]["code"]
    assert item["track"]["title"] and item["position"] == 0
    second = as_alice.get(first["next"]).json()
    ids = lambda page: {r["track"]["id"] for r in page["results"]}  # noqa: E731
    assert len(second["results"]) == 5 and not ids(first) & ids(second)
    for item in first["results"] + second["results"]:  # the schema's enums hold what is served
        assert item["reason"]["code"] in REASON_CODES and item["source"] in SOURCES


@pytest.mark.parametrize(
    "query",
    [
        "cursor=%%%",
        "cursor=bm9wZQ",
        "cursor=MDowOjk5OTk5OTk5OTk5OTk5",  # "0:0:99999999999999": a time past year 9999
        "cursor=MDowOjk5OTk5OTk5OTk5",  # "0:0:99999999999": the year 5138, not one we issued
        "page_size=0",
        "page_size=abc",
        "page_size=999",
        "page_size=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
        "page_size=" + "9" * 5000,  # past Python's limit on digits for int()
    ],
)
def test_bad_feed_parameters_are_400_naming_the_field(as_alice, catalog, query):
    response = as_alice.get(f"/api/v1/feed/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert set(error["fields"]) <= {"cursor", "page_size"}


def test_page_size_errors_keep_drf_codes(as_alice, catalog):
    too_big = as_alice.get("/api/v1/feed/?page_size=999").json()["error"]
    assert too_big["code"] == "max_value" and "50" in too_big["fields"]["page_size"][0]
    assert as_alice.get("/api/v1/feed/?page_size=0").json()["error"]["code"] == "min_value"
    assert as_alice.get("/api/v1/feed/?page_size=5.0").status_code == 200  # as DRF accepts


def test_similar_pieces_are_alike_and_never_private(as_alice, bob, catalog):
    TrackFactory(title="Bob's private", owner=bob, origin="generated", key="D minor")
    chorale = catalog["chorales"][0]
    first = as_alice.get(f"/api/v1/tracks/{chorale.pk}/similar/?page_size=5").json()
    results = first["results"]
    assert len(results) == 5
    assert all(r["collection"]["slug"] == "bach-chorales" for r in results)
    assert chorale.pk not in {r["id"] for r in results}
    rest = as_alice.get(first["next"]).json()["results"]  # the next, less alike, page
    assert rest and not {r["id"] for r in rest} & {r["id"] for r in results}


def test_similar_of_someone_elses_private_piece_is_404(as_alice, bob, catalog):
    private = TrackFactory(owner=bob, origin="generated")
    response = as_alice.get(f"/api/v1/tracks/{private.pk}/similar/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_radio_is_endless_and_does_not_repeat_soon(as_alice, catalog):
    seed = catalog["irish"][0]
    first = as_alice.get(f"/api/v1/radio/{seed.pk}/?page_size=5").json()
    assert first["seed"] == seed.pk and len(first["results"]) == 5
    second = as_alice.get(first["next"]).json()
    a = [r["id"] for r in first["results"]]
    b = [r["id"] for r in second["results"]]
    assert len(b) == 5 and not set(a) & set(b) and seed.pk not in a + b
    # Radio from a reel starts with reels.
    assert first["results"][0]["collection"]["slug"] == "irish-folk"


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "x"},
        {"cursor": ids_cursor([1, 2])[:-2] + "!!"},
        {"cursor": offset_cursor(5)},  # another list's cursor
        {"cursor": ids_cursor([1] * 300)},  # longer than any radio issues
        {"page_size": "51"},
        {"page_size": "0"},
    ],
)
def test_radio_rejects_what_it_did_not_issue(as_alice, catalog, query):
    seed = catalog["irish"][0]
    response = as_alice.get(f"/api/v1/radio/{seed.pk}/", query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(query)


@pytest.mark.parametrize(
    "path", ["/api/v1/feed/", "/api/v1/radio/{id}/", "/api/v1/tracks/{id}/similar/"]
)
def test_every_stream_has_the_same_page_size_rules(as_alice, catalog, path):
    url = path.format(id=catalog["irish"][0].pk)
    assert len(as_alice.get(url).json()["results"]) == 20  # the default
    assert len(as_alice.get(url, {"page_size": 3}).json()["results"]) == 3
    for bad in ("0", "51", "abc"):
        response = as_alice.get(url, {"page_size": bad})
        assert response.status_code == 400 and "page_size" in response.json()["error"]["fields"]


def test_feed_pages_need_few_queries(as_alice, catalog, django_assert_max_num_queries):
    first = as_alice.get("/api/v1/feed/?page_size=10").json()  # builds the snapshot
    # token, snapshot state, pieces, their tags, impressions: whatever the page size
    with django_assert_max_num_queries(5):
        second = as_alice.get(first["next"]).json()
    assert len(second["results"]) == 10
    # The same page again: pieces come from the process cache; the token, the snapshot's state
    # and the impressions remain.
    with django_assert_max_num_queries(3):
        again = as_alice.get(first["next"]).json()
    assert [r["track"]["id"] for r in again["results"]] == [
        r["track"]["id"] for r in second["results"]
    ]


def test_feed_served_with_the_token_reacts_to_feedback(
    as_alice, catalog, django_capture_on_commit_callbacks
):
    def build(page: dict) -> int:
        return FeedCursor.decode(page["next_cursor"]).build

    first = as_alice.get("/api/v1/feed/?page_size=5").json()
    again = as_alice.get("/api/v1/feed/?page_size=5").json()
    assert build(again) == build(first)  # the same snapshot, read along with the token
    shown = first["results"][0]["track"]["id"]
    with django_capture_on_commit_callbacks(execute=True):  # the feedback hook runs on commit
        response = as_alice.put(f"/api/v1/ratings/{shown}/", {"stars": 1}, format="json")
    assert response.status_code in (200, 201), response.content
    after = as_alice.get("/api/v1/feed/?page_size=5").json()
    assert build(after) == build(first) + 1  # rebuilt at once
    assert shown not in [r["track"]["id"] for r in after["results"]]
