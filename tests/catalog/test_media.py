"""Track media views: visibility rules, HTTP range requests (so the player can seek) and the
audio's two renditions (Ogg Vorbis, MP3)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from catalog.media_views import negotiated_audio_format, parse_range
from catalog.models import Track
from tests.factories import TrackFactory, UserFactory

AUDIO = bytes(range(256)) * 40  # 10,240 bytes
MP3 = b"ID3" + bytes(range(255, -1, -1)) * 30  # 7,683 bytes, told apart from AUDIO


def _with_audio(*, mp3: bool = False, **kwargs) -> Track:
    track = TrackFactory(**kwargs)
    track.audio_file.save("t.ogg", ContentFile(AUDIO), save=False)
    if mp3:
        track.audio_mp3_file.save("t.mp3", ContentFile(MP3), save=False)
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


def _audio(track: Track) -> str:
    return reverse("catalog:track_audio", args=[track.pk])


@pytest.mark.django_db
def test_format_mp3_serves_the_mp3(client):
    track = _with_audio(mp3=True)
    response = client.get(_audio(track), {"format": "mp3"})
    assert response.status_code == 200 and response["Content-Type"] == "audio/mpeg"
    assert response["Content-Length"] == str(len(MP3)) and _body(response) == MP3
    assert "Accept" in response["Vary"]
    ogg = client.get(_audio(track), {"format": "ogg"}, headers={"Accept": "audio/mpeg"})
    assert ogg["Content-Type"] == "audio/ogg" and _body(ogg) == AUDIO  # the parameter wins


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "audio/ogg"),  # no Accept header: Ogg, as before
        ("audio/mpeg", "audio/mpeg"),
        ("audio/ogg", "audio/ogg"),
        ("audio/ogg, audio/mpeg;q=0.8", "audio/ogg"),
        ("audio/mpeg, audio/ogg;q=0.8", "audio/mpeg"),
        ("*/*", "audio/mpeg"),  # takes both alike: does not prefer Ogg
        ("audio/mpeg;q=0, */*", "audio/ogg"),  # refuses MP3 explicitly
        # Firefox's media request: Ogg named, MP3 only through audio/*;q=0.9
        (
            "audio/webm,audio/ogg,audio/wav,audio/*;q=0.9,application/ogg;q=0.7,*/*;q=0.5",
            "audio/ogg",
        ),
        ("text/html", "audio/ogg"),  # neither: the default
    ],
)
def test_without_format_the_accept_header_picks(client, accept, content_type):
    track = _with_audio(mp3=True)
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get(_audio(track), headers=headers)
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert _body(response) == (MP3 if content_type == "audio/mpeg" else AUDIO)
    assert "Accept" in response["Vary"]


@pytest.mark.parametrize("accept", ["", "garbage", ";;,,", "audio/mpeg;q=x", "*/*;q=2", "a/b/c"])
def test_a_malformed_accept_header_never_fails(accept):
    assert negotiated_audio_format(accept) in {"ogg", "mp3"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "start", "end"), [("bytes=0-99", 0, 99), ("bytes=-83", 7600, 7682)]
)
def test_range_requests_on_the_mp3(client, header, start, end):
    track = _with_audio(mp3=True)
    response = client.get(_audio(track), {"format": "mp3"}, headers={"Range": header})
    assert response.status_code == 206 and response["Content-Type"] == "audio/mpeg"
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(MP3)}"
    assert _body(response) == MP3[start : end + 1]
    negotiated = client.get(_audio(track), headers={"Range": header, "Accept": "audio/mpeg"})
    assert negotiated.status_code == 206 and _body(negotiated) == MP3[start : end + 1]
    beyond = client.get(_audio(track), {"format": "mp3"}, headers={"Range": "bytes=9000-9010"})
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(MP3)}"


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["flac", "", "MP3", "ogg ", "x" * 500])
def test_an_unknown_format_is_a_400_naming_the_parameter(client, value):
    track = _with_audio(mp3=True)
    response = client.get(_audio(track), {"format": value})
    assert response.status_code == 400
    message = response.content.decode()
    assert "format" in message and "ogg or mp3" in message and len(message) < 200


@pytest.mark.django_db
def test_an_mp3_not_rendered_yet_is_a_404_but_negotiation_falls_back_to_ogg(client):
    track = _with_audio()  # rendered before there was an MP3
    response = client.get(_audio(track), {"format": "mp3"})
    assert response.status_code == 404 and "not available yet" in response.content.decode()
    negotiated = client.get(_audio(track), headers={"Accept": "audio/mpeg"})
    assert negotiated.status_code == 200 and negotiated["Content-Type"] == "audio/ogg"
    assert _body(negotiated) == AUDIO


@pytest.mark.django_db
def test_the_mp3_of_a_piece_one_may_not_see_is_a_plain_404(client):
    private = _with_audio(mp3=True, owner=UserFactory(), origin=Track.Origin.GENERATED)
    response = client.get(_audio(private), {"format": "mp3"})
    assert response.status_code == 404 and "not available yet" not in response.content.decode()
