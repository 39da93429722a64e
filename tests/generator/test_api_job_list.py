"""GET /api/v1/generation-jobs/: the listener's own jobs, newest first, cursor pages like the
feed (page_size 1-50, default 20, out of range a 400), each with its playable song."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Track
from generator.models import GenerationJob
from tests.api.conftest import token_client
from tests.factories import GenerationJobFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/generation-jobs/"


def _jobs(user, n: int) -> list[GenerationJob]:
    """``n`` jobs of ``user``, one a minute, the last the newest; two share a timestamp."""
    now = timezone.now()
    jobs = [GenerationJobFactory(user=user) for _ in range(n)]
    for i, job in enumerate(jobs):
        stamp = now - timedelta(minutes=max(n - i, 2))  # the last two: the same instant
        GenerationJob.objects.filter(pk=job.pk).update(created_at=stamp)
    return jobs


def test_pages_walk_every_own_job_newest_first_once():
    alice = UserFactory(username="alice")
    jobs = _jobs(alice, 7)
    GenerationJobFactory(user=UserFactory(username="bob"))
    app = token_client(alice)
    seen, url = [], f"{URL}?page_size=3"
    while url:
        page = app.get(url)
        assert page.status_code == 200, page.content
        body = page.json()
        assert len(body["results"]) <= 3
        seen += [job["id"] for job in body["results"]]
        url = body["next"]
    expected = list(
        GenerationJob.objects.filter(user=alice)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected and sorted(seen) == sorted(j.pk for j in jobs)


def test_a_page_of_20_by_default_and_the_feed_s_limits():
    alice = UserFactory()
    _jobs(alice, 21)
    app = token_client(alice)
    first = app.get(URL).json()
    assert len(first["results"]) == 20 and first["next_cursor"]
    assert len(app.get(f"{URL}?cursor={first['next_cursor']}").json()["results"]) == 1
    for bad in ("0", "51", "many"):
        refused = app.get(f"{URL}?page_size={bad}")
        assert refused.status_code == 400 and "page_size" in refused.json()["error"]["fields"]
    for bad in ("nope", "!!", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTo1", "x" * 65):
        refused = app.get(URL, {"cursor": bad})
        assert refused.status_code == 400 and "cursor" in refused.json()["error"]["fields"]


def test_each_item_carries_its_playable_song():
    alice = UserFactory()
    track = TrackFactory(owner=alice, origin=Track.Origin.GENERATED)
    track.audio_file.save("t.ogg", ContentFile(b"OggS" * 100), save=True)
    GenerationJobFactory(user=alice, track=track, status="succeeded", progress=100)
    app = token_client(alice)
    item = app.get(URL).json()["results"][0]
    assert item["track"]["id"] == track.pk
    assert app.get(item["track"]["audio_url"], HTTP_RANGE="bytes=0-3").status_code == 206


def test_the_list_needs_a_listener(client):
    assert client.get(URL).status_code in (401, 403)


def test_a_longer_page_costs_no_more_queries():
    alice = UserFactory()
    for _ in range(12):
        track = TrackFactory(owner=alice, origin=Track.Origin.GENERATED)
        GenerationJobFactory(user=alice, track=track, status="succeeded", progress=100)
    app = token_client(alice)

    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(app.get(f"{URL}?page_size={size}").json()["results"]) == size
        return len(captured)

    queries(1)  # the token's first use writes its expiry and last use, once
    assert queries(12) == queries(2)


def test_the_schema_types_the_job_s_song():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    song = schema["components"]["schemas"]["JobTrack"]["properties"]
    assert song["audio_url"]["format"] == "uri" and "6 hours" in song["audio_url"]["description"]
    listing = schema["paths"]["/api/v1/generation-jobs/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"cursor", "page_size"}
