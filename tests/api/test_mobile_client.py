"""A mobile client, end to end, with nothing but the API and a token.

Sign up, pick tastes, read the feed, listen, rate, start a radio, build a playlist; the feed
reacts to the listening and the rating; nothing of another listener's is visible.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_mobile_client_end_to_end(catalog, django_capture_on_commit_callbacks):
    app = APIClient()
    signup = app.post(
        "/api/v1/auth/signup/",
        {"username": "pocket", "email": "pocket@example.com", "password": "a-long-passphrase-9"},
        format="json",
    )
    assert signup.status_code == 201, signup.content
    app.credentials(HTTP_AUTHORIZATION=f"Token {signup.json()['token']}")
    assert app.get("/api/v1/me/").json()["username"] == "pocket"

    # Onboarding: the first feed follows the picks.
    assert app.get("/api/v1/onboarding/").json()["onboarded"] is False
    app.put("/api/v1/onboarding/", {"collections": ["bach-chorales"]}, format="json")
    feed = app.get("/api/v1/feed/?page_size=8").json()
    assert sum(r["track"]["collection"]["slug"] == "bach-chorales" for r in feed["results"]) >= 5
    assert all(r["reason"]["text"] for r in feed["results"])
    first = feed["results"][0]["track"]

    # Listen to the first piece to the end, and rate it.
    listen_id = str(uuid.uuid4())
    started = (timezone.now() - timedelta(minutes=2)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        listened = app.post(
            "/api/v1/listens/",
            {
                "client_event_id": listen_id,
                "track": first["id"],
                "type": "complete",
                "started_at": started,
                "position_ms": int(first["duration_seconds"] * 1000),
                "played_ms": int(first["duration_seconds"] * 1000),
                "context": "feed",
            },
            format="json",
        )
        assert listened.status_code == 200, listened.content
        rated = app.put(f"/api/v1/ratings/{first['id']}/", {"stars": 5}, format="json")
        assert rated.status_code == 200 and rated.json()["stars"] == 5

    # The feed reacts: the piece just heard is gone, and "because you played" appears.
    after = app.get("/api/v1/feed/?page_size=8").json()["results"]
    assert first["id"] not in {r["track"]["id"] for r in after}
    assert any(r["reason"]["text"] == f"Because you played {first['title']}" for r in after)

    # Radio from that piece, two batches, no repeats.
    radio = app.get(f"/api/v1/radio/{first['id']}/?page_size=4").json()
    more = app.get(radio["next"]).json()
    queued = [t["id"] for t in radio["results"] + more["results"]]
    assert len(queued) == 8 == len(set(queued))

    # A playlist of the radio's first pieces, reordered; "Liked" follows likes.
    playlist = app.post("/api/v1/playlists/", {"name": "On the go"}, format="json").json()
    for track_id in queued[:3]:
        app.post(f"/api/v1/playlists/{playlist['id']}/items/", {"track": track_id}, format="json")
    reordered = app.put(
        f"/api/v1/playlists/{playlist['id']}/order/",
        {"tracks": list(reversed(queued[:3]))},
        format="json",
    ).json()
    assert [t["id"] for t in reordered["tracks"]] == list(reversed(queued[:3]))
    app.put(f"/api/v1/ratings/{queued[0]}/", {"liked": True}, format="json")
    assert [t["id"] for t in app.get("/api/v1/playlists/liked/").json()["tracks"]] == [queued[0]]

    # Someone else sees none of it.
    other = APIClient()
    token = other.post(
        "/api/v1/auth/signup/",
        {"username": "stranger", "email": "s@example.com", "password": "another-passphrase-7"},
        format="json",
    ).json()["token"]
    other.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert other.get(f"/api/v1/playlists/{playlist['id']}/").status_code == 404
    assert other.get("/api/v1/playlists/").json() == {
        "liked_count": 0,
        "results": [],
        "next_cursor": None,
        "next": None,
    }
    assert other.get("/api/v1/playlists/liked/").json()["tracks"] == []
    assert other.get("/api/v1/me/history/").json()["results"] == []
