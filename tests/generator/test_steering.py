"""The listener steers a song: a style, a tempo, or more like one of their songs; bad choices
are a 400 naming the field, and another listener's song is never a model."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Collection, Track
from generator.models import GenerationJob
from tests.factories import GenerationJobFactory, RatingFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/generation-jobs/"


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    return APIClient()


def _finished_song(user, **settings):
    track = TrackFactory(origin=Track.Origin.GENERATED, owner=user, title="Made for you · no. 1")
    return GenerationJobFactory(user=user, status="succeeded", track=track, settings=settings)


def test_a_style_asked_for_is_the_style_written(api, active_version):
    user = UserFactory()
    api.force_authenticate(user)
    body = api.post(JOBS, {"style": "quartet", "seconds": 20}, format="json").json()
    assert body["settings"]["style"] == "quartet"
    assert body["settings"]["reason"].startswith(
        "In the style of the string quartets you asked for, for a string quartet, in "
    )


def test_more_like_takes_the_songs_style_key_metre_and_tempo(api, active_version):
    user = UserFactory()
    old = _finished_song(user, style="irish", key="D major", tempo_bpm=150.0, time_signature="6/8")
    api.force_authenticate(user)
    body = api.post(JOBS, {"more_like": old.pk}, format="json").json()
    s = body["settings"]
    assert (s["style"], s["key"], s["tempo_bpm"], s["time_signature"]) == (
        "irish",
        "D major",
        150.0,
        "6/8",
    )
    assert (
        s["reason"]
        == "More like your “Made for you · no. 1”: Irish dance tune for flute, in D major."
    )
    assert s["seed"] != old.settings.get("seed")


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"style": "dubstep"}, "style"), ({"more_like": 999999}, "more_like")],
)
def test_a_bad_steer_is_a_400_naming_the_field(api, active_version, payload, field):
    api.force_authenticate(UserFactory())
    response = api.post(JOBS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not GenerationJob.objects.exists()


def test_another_listeners_song_is_never_a_model(api, active_version):
    theirs = _finished_song(UserFactory(), style="chorale", key="G major")
    api.force_authenticate(UserFactory())
    response = api.post(JOBS, {"more_like": theirs.pk}, format="json")
    assert response.status_code == 400
    assert "more_like" in response.json()["error"]["fields"]


def test_the_page_offers_the_listeners_own_styles_first_and_steers(
    client, active_version, monkeypatch, catalog_track
):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    user = UserFactory()
    loved = catalog_track(seed=5)
    Track.objects.filter(pk=loved.pk).update(
        collection=Collection.objects.create(name="Monteverdi Madrigals")
    )
    RatingFactory(user=user, track=loved, stars=5)
    client.force_login(user)
    page = client.get(reverse("generator:create")).content.decode()
    options = page[page.index('name="style"') :]
    assert options.index("Madrigals (you love these)") < options.index("Bach chorales")
    response = client.post(
        reverse("generator:create"), {"seconds": "20", "style": "chorale", "mood": "fast"}
    )
    assert response.status_code == 302
    job = GenerationJob.objects.get(user=user)
    assert job.settings["style"] == "chorale" and job.settings["tempo_bpm"] == 168.0
