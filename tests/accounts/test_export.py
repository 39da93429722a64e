"""Export (a zip of JSON + CSV with the generated pieces' MIDI) and account deletion."""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.models import Playlist, PlaylistItem
from catalog.models import Track
from recommender.models import ListenEvent, Rating
from tests.factories import ListenEventFactory, RatingFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
MIDI = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"


@pytest.fixture
def listener_with_data(db):
    user = UserFactory(username="ada")
    piece = TrackFactory(title="Ada's Nocturne", owner=user, origin="generated")
    piece.midi_file.save("nocturne.mid", ContentFile(MIDI), save=False)
    piece.audio_file.save("nocturne.ogg", ContentFile(b"OggS fake"), save=True)
    ListenEventFactory(user=user, track=TrackFactory(title="Aria"))
    ListenEventFactory(user=user, track=piece, context="generated")
    RatingFactory(user=user, track=piece, stars=5, liked=True)
    RatingFactory(user=user, track=TrackFactory(title="Gigue"), stars=2)
    ListenEventFactory(user=UserFactory(username="bob"))  # not Ada's
    playlist = Playlist.objects.create(owner=user, name="Evening")
    PlaylistItem.objects.create(playlist=playlist, track=piece, position=0)
    return user, piece


def test_export_is_a_zip_of_everything_and_only_theirs(client, listener_with_data):
    user, _ = listener_with_data
    client.force_login(user)
    response = client.get(reverse("listening:export"))
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
    assert client.get(reverse("listening:export")).status_code == 302


def test_account_deletion_needs_the_password(client, listener_with_data):
    user, _ = listener_with_data
    client.force_login(user)
    response = client.post(reverse("listening:account_delete"), {"password": "wrong"})
    assert response.status_code == 200
    assert "not your password" in response.content.decode()
    assert ListenEvent.objects.filter(user=user).exists()


def test_account_deletion_removes_all_their_data_and_files(
    client, listener_with_data, django_capture_on_commit_callbacks
):
    user, piece = listener_with_data
    files = [piece.midi_file.name, piece.audio_file.name]
    assert all(default_storage.exists(name) for name in files)
    client.force_login(user)
    assert "2 listens" in client.get(reverse("listening:account_delete")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("listening:account_delete"), {"password": "correct-horse-battery"}
        )
    assert response.status_code == 302
    assert not type(user).objects.filter(pk=user.pk).exists()
    assert not ListenEvent.objects.filter(user_id=user.pk).exists()
    assert not Rating.objects.filter(user_id=user.pk).exists()
    assert not Track.objects.filter(pk=piece.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert ListenEvent.objects.count() == 1  # Bob's listen stays
    assert Track.objects.filter(title="Aria").exists()  # public pieces stay
    assert client.get(reverse("listening:history")).status_code == 302  # logged out


def test_export_lists_signed_in_devices_but_no_token_and_deletion_revokes_them(
    client, listener_with_data
):
    from accounts.models import ApiToken
    from tests.factories import api_token

    user, _ = listener_with_data
    token = api_token(user, "Ada's phone")
    api_token(UserFactory(username="cy"), "not Ada's")
    client.force_login(user)
    response = client.get(reverse("listening:export"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    devices = json.loads(archive.read("devices.json"))
    assert [d["name"] for d in devices] == ["Ada's phone"] and devices[0]["expiry"]
    row = ApiToken.objects.get(user=user)
    for name in archive.namelist():
        content = archive.read(name).decode(errors="replace")
        assert token not in content and row.digest not in content, name
    client.post(reverse("listening:account_delete"), {"password": "correct-horse-battery"})
    assert not ApiToken.objects.filter(user_id=user.pk).exists()
    assert ApiToken.objects.count() == 1  # cy's device stays
