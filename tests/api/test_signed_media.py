"""A phone holding only an API token plays, seeks and downloads its listener's private piece
through the signed media URLs the API gives; a signature opens nothing else."""

import time

import pytest
from django.core.files.base import ContentFile

from catalog.media_urls import MEDIA_URL_MAX_AGE, media_path
from catalog.models import Track
from generator.models import GenerationJob
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db

AUDIO = bytes(range(256)) * 40  # 10,240 bytes


def _rendered(**kwargs) -> Track:
    track = TrackFactory(**kwargs)
    track.audio_file.save("t.ogg", ContentFile(AUDIO), save=False)
    track.midi_file.save("t.mid", ContentFile(b"MThd-fake"), save=False)
    track.pianoroll_image.save("t.png", ContentFile(b"\x89PNG-fake"), save=False)
    track.render_status = Track.RenderStatus.READY
    track.save()
    return track


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_token_client_plays_and_seeks_its_own_private_piece(as_alice, alice):
    track = _rendered(owner=alice, origin=Track.Origin.GENERATED)
    detail = as_alice.get(f"/api/v1/tracks/{track.pk}/").json()
    assert "?sig=" in detail["audio_url"]

    whole = as_alice.get(detail["audio_url"])
    assert whole.status_code == 200 and _body(whole) == AUDIO
    part = as_alice.get(detail["audio_url"], HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and _body(part) == AUDIO[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(AUDIO)}"
    beyond = as_alice.get(detail["audio_url"], HTTP_RANGE="bytes=20000-20010")
    assert beyond.status_code == 416
    assert as_alice.get(detail["midi_url"]).status_code == 200
    assert as_alice.get(detail["pianoroll_url"]).status_code == 200

    unsigned = detail["audio_url"].split("?")[0]
    assert as_alice.get(unsigned).status_code == 404  # the token alone opens no media


def test_a_token_client_plays_and_seeks_the_mp3_of_its_own_private_piece(as_alice, alice):
    track = _rendered(owner=alice, origin=Track.Origin.GENERATED)
    mp3 = b"ID3" + AUDIO
    track.audio_mp3_file.save("t.mp3", ContentFile(mp3), save=True)
    detail = as_alice.get(f"/api/v1/tracks/{track.pk}/").json()
    assert "?sig=" in detail["audio_mp3_url"] and detail["audio_mp3_url"].endswith("&format=mp3")

    part = as_alice.get(detail["audio_mp3_url"], HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Type"] == "audio/mpeg"
    assert _body(part) == mp3[100:200] and part["Content-Range"] == f"bytes 100-199/{len(mp3)}"
    items = as_alice.get("/api/v1/tracks/?page_size=50").json()["results"]
    mine = next(item for item in items if item["id"] == track.pk)
    assert as_alice.get(mine["audio_mp3_url"], HTTP_RANGE="bytes=0-3").status_code == 206

    unsigned = detail["audio_mp3_url"].split("?")[0] + "?format=mp3"
    assert as_alice.get(unsigned).status_code == 404  # the token alone opens no media


def test_list_items_carry_signed_urls_too(as_alice, alice):
    track = _rendered(owner=alice, origin=Track.Origin.GENERATED)
    items = as_alice.get("/api/v1/tracks/?page_size=50").json()["results"]
    mine = next(item for item in items if item["id"] == track.pk)
    assert as_alice.get(mine["audio_url"], HTTP_RANGE="bytes=0-3").status_code == 206


def test_a_public_piece_needs_no_signature(client):
    track = _rendered()
    detail = client.get(f"/api/v1/tracks/{track.pk}/").json()
    assert "sig=" not in detail["audio_url"]
    assert client.get(detail["audio_url"], HTTP_RANGE="bytes=0-9").status_code == 206


def test_a_signature_for_bob_does_not_open_alices_piece(client, alice, bob):
    alices = _rendered(owner=alice)
    bobs = _rendered(owner=bob)
    forged = media_path(alices, "audio", user=bob)  # minted for bob, on alice's piece
    assert client.get(forged).status_code == 404
    bobs_sig = media_path(bobs, "audio", user=bob).split("?")[1]
    transplanted = media_path(alices, "audio", user=None) + "?" + bobs_sig
    assert client.get(transplanted).status_code == 404


def test_a_signed_audio_url_opens_both_renditions(client, alice):
    track = _rendered(owner=alice, origin=Track.Origin.GENERATED)
    track.audio_mp3_file.save("t.mp3", ContentFile(b"ID3" + AUDIO), save=True)
    mp3 = media_path(track, "audio", user=alice, audio_format="mp3")
    assert mp3 == media_path(track, "audio", user=alice) + "&format=mp3"
    part = client.get(mp3, HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206 and part["Content-Type"] == "audio/mpeg"
    assert _body(part) == (b"ID3" + AUDIO)[:10]
    ogg = client.get(media_path(track, "audio", user=alice, audio_format="ogg"))
    assert ogg.status_code == 200 and ogg["Content-Type"] == "audio/ogg"
    assert client.get(mp3.replace("?sig=", "?sig=x")).status_code == 404


def test_a_signature_opens_only_its_kind_of_media(client, alice):
    track = _rendered(owner=alice)
    audio_sig = media_path(track, "audio", user=alice).split("?")[1]
    assert client.get(f"/tracks/{track.pk}/midi/?{audio_sig}").status_code == 404


@pytest.mark.parametrize("sig", ["", "x", "1:abc:def", "9" * 300, "ü:ü:ü", "1::"])
def test_a_tampered_signature_is_a_404_never_a_500(client, alice, sig):
    track = _rendered(owner=alice)
    good = media_path(track, "audio", user=alice)
    assert client.get(good).status_code == 200
    assert client.get(good[:-1] + ("A" if good[-1] != "A" else "B")).status_code == 404
    assert client.get(good.split("?")[0], {"sig": sig}).status_code == 404


def test_an_expired_signature_is_a_404(client, alice, monkeypatch):
    track = _rendered(owner=alice)
    minted_at = time.time() - MEDIA_URL_MAX_AGE.total_seconds() - 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: minted_at)
    stale = media_path(track, "audio", user=alice)
    monkeypatch.undo()
    assert client.get(stale).status_code == 404


def test_a_deactivated_listener_s_signature_opens_nothing(client, alice):
    track = _rendered(owner=alice)
    url = media_path(track, "audio", user=alice)
    alice.is_active = False
    alice.save()
    assert client.get(url).status_code == 404


def test_a_job_s_song_plays_from_its_job_output(as_alice, alice):
    track = _rendered(owner=alice, origin=Track.Origin.GENERATED)
    job = GenerationJob.objects.create(user=alice, track=track, status="succeeded", progress=100)
    output = as_alice.get(f"/api/v1/generation-jobs/{job.pk}/").json()["track"]
    assert as_alice.get(output["audio_url"], HTTP_RANGE="bytes=0-9").status_code == 206
    assert output["audio_mp3_url"] is None  # not rendered yet
    track.audio_mp3_file.save("t.mp3", ContentFile(b"ID3" + AUDIO), save=True)
    output = as_alice.get(f"/api/v1/generation-jobs/{job.pk}/").json()["track"]
    mp3 = as_alice.get(output["audio_mp3_url"], HTTP_RANGE="bytes=0-9")
    assert mp3.status_code == 206 and mp3["Content-Type"] == "audio/mpeg"
    assert as_alice.get(output["midi_url"]).status_code == 200


def test_the_feed_s_made_for_you_song_plays_with_only_a_token(catalog, as_alice, alice, as_bob):
    song = _rendered(title="My song", owner=alice, origin=Track.Origin.GENERATED, collection=None)
    items = as_alice.get("/api/v1/feed/?page_size=10").json()["results"]
    mine = next(item["track"] for item in items if item["track"]["id"] == song.pk)
    assert as_alice.get(mine["audio_url"], HTTP_RANGE="bytes=0-9").status_code == 206
    bobs = as_bob.get("/api/v1/feed/?page_size=50").json()["results"]
    assert song.pk not in {item["track"]["id"] for item in bobs}
