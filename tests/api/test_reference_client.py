"""The reference client: a mobile developer's smoke test, over HTTP against a live server.

Nothing but the API, a token and plain HTTP (``requests``), as a phone would: sign up, pick
tastes, play every feed item straight from its item (no request per item), report listens
(a retry is acknowledged, not stored twice), rate, make a playlist, ask for a song and play its
MP3 with a Range request, then delete the account. A real Celery worker writes and renders the
song, then encodes its MP3, on the configured broker.
"""

import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.utils import timezone

from catalog.models import Track
from generator import services as generator_services
from generator.tasks import run_generation_job
from tests.generator.conftest import midi_dir, tiny_checkpoint  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "a-long-passphrase-9"
MP3_STARTS = (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")  # a tag, or an MPEG-1/2 frame
AUDIO_STARTS = (b"OggS", *MP3_STARTS)  # audio_url: Ogg or MP3, as the Accept header chooses
SONG_DEADLINE_S = run_generation_job.time_limit + 10


def _rendered(tracks: list[Track]) -> None:
    """Give catalog pieces stored audio, as the render task leaves them."""
    for track in tracks:
        track.audio_file.save(f"{track.pk}.ogg", ContentFile(b"OggS" + bytes(800)), save=False)
        track.audio_mp3_file.save(f"{track.pk}.mp3", ContentFile(b"ID3" + bytes(800)), save=False)
        track.render_status = Track.RenderStatus.READY
        track.save(update_fields=["audio_file", "audio_mp3_file", "render_status"])


class Phone:
    """An app holding a token: JSON in, JSON out, the token on every API call."""

    def __init__(self, base: str) -> None:
        self.base, self.http = base, requests.Session()

    def call(self, method: str, path: str, expect: int, **kwargs) -> dict:
        url = path if path.startswith("http") else f"{self.base}{path}"
        response = self.http.request(method, url, timeout=30, **kwargs)
        assert response.status_code == expect, (method, path, response.text[:500])
        return response.json() if response.content else {}

    def sign_in(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Token {token}"

    def play(self, audio_url: str) -> bytes:
        """The first bytes of a piece, as a player's first Range request, with no token."""
        response = requests.get(audio_url, headers={"Range": "bytes=0-15"}, timeout=30)
        assert response.status_code == 206, (audio_url, response.status_code)
        return response.content


def test_the_mobile_flow_over_http(
    live_server,
    catalog,
    tiny_checkpoint,  # noqa: F811
    celery_worker_real,
):
    generator_services._load.cache_clear()
    generator_services.generator_version_register(
        name="tiny", artifact_path=str(tiny_checkpoint), activate=True
    )
    _rendered(catalog["chorales"] + catalog["irish"])
    phone = Phone(live_server.url)

    signed_up = phone.call(
        "POST",
        "/api/v1/auth/signup/",
        201,
        json={"username": "pocket", "email": "p@example.com", "password": PASSWORD},
    )
    phone.sign_in(signed_up["token"])
    phone.call("PUT", "/api/v1/onboarding/", 200, json={"collections": ["bach-chorales"]})

    # Every feed item is playable from the item itself, in both renditions.
    feed = phone.call("GET", "/api/v1/feed/?page_size=6", 200)["results"]
    assert len(feed) == 6
    for item in feed:
        assert phone.play(item["track"]["audio_url"]).startswith(AUDIO_STARTS)
        assert phone.play(item["track"]["audio_mp3_url"]).startswith(MP3_STARTS)
    first = feed[0]["track"]

    # A listen, then the same report again (a retry after a lost answer): stored once.
    report = {
        "client_event_id": str(uuid.uuid4()),
        "track": first["id"],
        "type": "complete",
        "started_at": (timezone.now() - timedelta(minutes=2)).isoformat(),
        "position_ms": int(first["duration_seconds"] * 1000),
        "played_ms": int(first["duration_seconds"] * 1000),
        "context": "feed",
    }
    assert phone.call("POST", "/api/v1/listens/", 200, json=report)["created"] == 1
    assert phone.call("POST", "/api/v1/listens/", 200, json=report)["duplicate"] == 1
    history = phone.call("GET", "/api/v1/me/history/", 200)["results"]
    assert [h["track"] for h in history] == [first["id"]]

    phone.call("PUT", f"/api/v1/ratings/{first['id']}/", 200, json={"stars": 5})
    playlist = phone.call("POST", "/api/v1/playlists/", 201, json={"name": "On the go"})
    phone.call(
        "POST", f"/api/v1/playlists/{playlist['id']}/items/", 201, json={"track": first["id"]}
    )
    listed = phone.call("GET", f"/api/v1/playlists/{playlist['id']}/", 200)["tracks"]
    assert [t["id"] for t in listed] == [first["id"]] and listed[0]["audio_mp3_url"]

    # A song: asked for once (a retry with the same key is the same job), then played.
    key = {"Idempotency-Key": str(uuid.uuid4())}
    job = phone.call("POST", "/api/v1/generation-jobs/", 201, json={"seconds": 20}, headers=key)
    again = phone.call("POST", "/api/v1/generation-jobs/", 200, json={"seconds": 20}, headers=key)
    assert again["id"] == job["id"]
    deadline = time.monotonic() + SONG_DEADLINE_S
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = phone.call("GET", f"/api/v1/generation-jobs/{job['id']}/", 200)
    assert job["status"] == "succeeded", job["error"]
    assert phone.play(job["track"]["audio_url"]).startswith(AUDIO_STARTS)  # playable at once
    while not job["track"]["audio_mp3_url"] and time.monotonic() < deadline:
        time.sleep(0.5)  # the MP3 is encoded just after, by the same task
        job = phone.call("GET", f"/api/v1/generation-jobs/{job['id']}/", 200)
    assert phone.play(job["track"]["audio_mp3_url"]).startswith(MP3_STARTS)
    mine = phone.call("GET", "/api/v1/generation-jobs/", 200)["results"]
    assert [j["id"] for j in mine] == [job["id"]]

    # Deleting the account needs the password, and signs the phone out.
    phone.call("DELETE", "/api/v1/me/", 400, json={"password": "not-it"})
    phone.call("DELETE", "/api/v1/me/", 204, json={"password": PASSWORD})
    phone.call("GET", "/api/v1/me/", 401)
