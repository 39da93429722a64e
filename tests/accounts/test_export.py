"""The data export: a zip of JSON + CSV with the generated pieces' MIDI, only the listener's
data, and never a token (which deletion revokes)."""

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from tests.accounts.conftest import MIDI
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_export_is_a_zip_of_everything_and_only_theirs(client, listener_with_data):
    user, _ = listener_with_data
    client.force_login(user)
    response = client.get(reverse("accounts:export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {
        "README.txt",
        "profile.json",
        "listens.json",
        "listens.csv",
        "ratings.json",
        "ratings.csv",
        "likes.csv",
        "generated/pieces.json",
        "generated/pieces.csv",
    } <= names
    listens = json.loads(archive.read("listens.json"))
    assert sorted(row["track_title"] for row in listens) == ["Ada's Nocturne", "Aria"]
    rows = list(csv.DictReader(io.StringIO(archive.read("ratings.csv").decode())))
    assert {(r["track_title"], r["stars"]) for r in rows} == {
        ("Ada's Nocturne", "5"),
        ("Gigue", "2"),
    }
    likes = list(csv.DictReader(io.StringIO(archive.read("likes.csv").decode())))
    assert [r["track_title"] for r in likes] == ["Ada's Nocturne"]
    pieces = json.loads(archive.read("generated/pieces.json"))
    assert pieces[0]["title"] == "Ada's Nocturne"
    assert archive.read(pieces[0]["midi_path"]) == MIDI
    assert json.loads(archive.read("profile.json"))["username"] == "ada"
    assert json.loads(archive.read("generated/jobs.json")) == []
    playlists = json.loads(archive.read("playlists.json"))
    assert [(p["name"], [t["track_title"] for t in p["tracks"]]) for p in playlists] == [
        ("Evening", ["Ada's Nocturne"])
    ]


def test_export_needs_a_login(client):
    assert client.get(reverse("accounts:export")).status_code == 302


def test_export_lists_signed_in_devices_but_no_token_and_deletion_revokes_them(
    client, listener_with_data
):
    from accounts.models import ApiToken
    from tests.factories import api_token

    user, _ = listener_with_data
    token = api_token(user, "Ada's phone")
    api_token(UserFactory(username="cy"), "not Ada's")
    client.force_login(user)
    response = client.get(reverse("accounts:export"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    devices = json.loads(archive.read("devices.json"))
    assert [d["name"] for d in devices] == ["Ada's phone"] and devices[0]["expiry"]
    row = ApiToken.objects.get(user=user)
    for name in archive.namelist():
        content = archive.read(name).decode(errors="replace")
        assert token not in content and row.digest not in content, name
    client.post(reverse("accounts:account_delete"), {"password": "correct-horse-battery"})
    assert not ApiToken.objects.filter(user_id=user.pk).exists()
    assert ApiToken.objects.count() == 1  # cy's device stays
