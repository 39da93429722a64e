"""The mobile app's account screen: deleting the account (``DELETE /api/v1/me/``, confirmed with
the password, as the page is) and downloading the data export (``GET /api/v1/me/export/``)."""

import io
import json
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Track
from recommender.models import ListenEvent, Rating
from tests.factories import api_token

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.fixture
def ada_app(listener_with_data) -> APIClient:
    """Ada's phone, signed in with its own API token."""
    user, _ = listener_with_data
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user, device='Ada phone')}")
    return client


@pytest.mark.parametrize(
    ("body", "message"),
    [({"password": "wrong"}, "not your password"), ({}, "required")],
    ids=["wrong", "missing"],
)
def test_deleting_without_the_right_password_is_a_400_and_deletes_nothing(
    ada_app, listener_with_data, body, message
):
    user, piece = listener_with_data
    response = ada_app.delete("/api/v1/me/", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["password"] and message in fields["password"][0]
    assert type(user).objects.filter(pk=user.pk).exists()
    assert ListenEvent.objects.filter(user=user).count() == 2
    assert Track.objects.filter(pk=piece.pk).exists()
    assert ada_app.get("/api/v1/me/").status_code == 200  # still signed in


def test_deleting_with_the_password_removes_everything_and_signs_every_device_out(
    ada_app, listener_with_data, django_capture_on_commit_callbacks
):
    user, piece = listener_with_data
    other_device = APIClient()
    other_device.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user, device='Ada tablet')}")
    files = [piece.midi_file.name, piece.audio_file.name, piece.audio_mp3_file.name]
    with django_capture_on_commit_callbacks(execute=True):
        response = ada_app.delete("/api/v1/me/", {"password": PASSWORD}, format="json")
    assert response.status_code == 204 and response.content == b""
    assert not type(user).objects.filter(pk=user.pk).exists()
    assert not ListenEvent.objects.filter(user_id=user.pk).exists()
    assert not Rating.objects.filter(user_id=user.pk).exists()
    assert not Track.objects.filter(pk=piece.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert ListenEvent.objects.count() == 1  # Bob's listen stays
    assert Track.objects.filter(title="Aria").exists()  # the public catalogue stays
    assert ada_app.get("/api/v1/me/").status_code == 401
    assert other_device.get("/api/v1/me/").status_code == 401


def test_a_json_array_body_is_a_400_not_a_crash(ada_app):
    response = ada_app.delete("/api/v1/me/", [PASSWORD], format="json")
    assert response.status_code == 400


def test_the_schema_says_what_deletion_deletes_and_keeps():
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/me/"]["delete"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert body["required"] == ["password"]
    assert "**Deleted:**" in operation["description"] and "**Kept:**" in operation["description"]
    assert "204" in operation["responses"] and "400" in operation["responses"]


def _zip_names(content: bytes) -> set[str]:
    return set(zipfile.ZipFile(io.BytesIO(content)).namelist())


def test_the_export_is_the_pages_zip_as_an_attachment(ada_app, client, listener_with_data):
    user, _ = listener_with_data
    response = ada_app.get("/api/v1/me/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="musicsite-ada-')
    content = b"".join(response.streaming_content)
    client.force_login(user)
    page = client.get(reverse("accounts:export"))
    assert _zip_names(content) == _zip_names(b"".join(page.streaming_content))
    listens = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("listens.json"))
    assert len(listens) == 2  # Ada's, not Bob's


def test_asking_for_the_zip_only_still_gets_errors_as_json(ada_app):
    assert ada_app.get("/api/v1/me/export/", HTTP_ACCEPT="application/zip").status_code == 200
    response = APIClient().get("/api/v1/me/export/", HTTP_ACCEPT="application/zip")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_password_guesses_are_throttled_as_sign_ins_and_reading_the_profile_is_not(
    ada_app, settings
):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    guesses = [ada_app.delete("/api/v1/me/", {"password": g}, format="json") for g in "abc"]
    assert [r.status_code for r in guesses] == [400, 400, 429]
    assert guesses[-1]["Retry-After"]
    assert all(ada_app.get("/api/v1/me/").status_code == 200 for _ in range(3))
