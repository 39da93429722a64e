"""Account deletion: confirmed by the password, it removes the listener's data and files."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from catalog.models import Track
from recommender.models import ListenEvent, Rating

pytestmark = pytest.mark.django_db


def test_account_deletion_needs_the_password(client, listener_with_data):
    user, _ = listener_with_data
    client.force_login(user)
    response = client.post(reverse("accounts:account_delete"), {"password": "wrong"})
    assert response.status_code == 200
    assert "not your password" in response.content.decode()
    assert ListenEvent.objects.filter(user=user).exists()


def test_account_deletion_removes_all_their_data_and_files(
    client, listener_with_data, django_capture_on_commit_callbacks
):
    user, piece = listener_with_data
    files = [piece.midi_file.name, piece.audio_file.name, piece.audio_mp3_file.name]
    assert all(default_storage.exists(name) for name in files)
    client.force_login(user)
    assert "2 listens" in client.get(reverse("accounts:account_delete")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:account_delete"), {"password": "correct-horse-battery"}
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
