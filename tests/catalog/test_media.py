"""Track media views: visibility rules and HTTP range requests (so the player can seek)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from catalog.media_views import parse_range
from catalog.models import Track
from tests.factories import TrackFactory, UserFactory

AUDIO = bytes(range(256)) * 40  # 10,240 bytes


def _with_audio(**kwargs) -> Track:
    track = TrackFactory(**kwargs)
    track.audio_file.save("t.ogg", ContentFile(AUDIO), save=False)
    track.midi_file.save("t.mid", ContentFile(b"MThd-fake"), save=False)
    track.render_status = Track.RenderStatus.READY
    track.save()
    return track


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_full_audio_advertises_ranges(client):
    track = _with_audio()
    response = client.get(reverse("catalog:track_audio", args=[track.pk]))
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/ogg"
    assert response["Content-Length"] == str(len(AUDIO))
    assert _body(response) == AUDIO


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-240", 10000, 10239),
        ("bytes=5000-999999", 5000, 10239),
    ],
)
def test_range_requests_return_partial_content(client, header, start, end):
    track = _with_audio()
    response = client.get(reverse("catalog:track_audio", args=[track.pk]), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(AUDIO)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert _body(response) == AUDIO[start : end + 1]


@pytest.mark.django_db
def test_unsatisfiable_range_is_416(client):
    track = _with_audio()
    response = client.get(
        reverse("catalog:track_audio", args=[track.pk]), HTTP_RANGE="bytes=20000-20010"
    )
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(AUDIO)}"


def test_parse_range_edge_cases():
    assert parse_range("", 100) is None
    assert parse_range("bytes=0-1,5-6", 100) is None  # several ranges: whole file
    assert parse_range("items=0-5", 100) is None
    assert parse_range("bytes=-500", 100) == (0, 99)
    with pytest.raises(ValueError):
        parse_range("bytes=9-3", 100)


@pytest.mark.django_db
def test_visibility_private_draft_and_staff(client):
    owner = UserFactory(username="owner")
    private = _with_audio(owner=owner, origin=Track.Origin.GENERATED)
    draft = _with_audio(status=Track.Status.DRAFT)
    audio = lambda t: reverse("catalog:track_audio", args=[t.pk])  # noqa: E731
    assert client.get(audio(private)).status_code == 404
    assert client.get(audio(draft)).status_code == 404
    client.force_login(UserFactory(username="someone-else"))
    assert client.get(audio(private)).status_code == 404
    client.force_login(owner)
    assert client.get(audio(private)).status_code == 200
    client.force_login(UserFactory(username="staff", is_staff=True))
    assert client.get(audio(draft)).status_code == 200  # curators preview drafts
    assert client.get(audio(private)).status_code == 404  # but not listeners' private pieces


@pytest.mark.django_db
def test_midi_download_and_missing_media(client):
    track = _with_audio(title="Morning Star")
    response = client.get(reverse("catalog:track_midi", args=[track.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="morning-star-{track.pk}.mid"'
    assert client.get(reverse("catalog:track_pianoroll", args=[track.pk])).status_code == 404
    pending = TrackFactory()
    assert client.get(reverse("catalog:track_audio", args=[pending.pk])).status_code == 404
