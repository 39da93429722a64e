"""Rendering: MIDI → playable Ogg Vorbis, MP3 and a piano-roll PNG, recorded on the track row."""

import io
from unittest import mock

import pytest
import soundfile
from django.core.cache import cache
from PIL import Image

from catalog import services
from catalog.models import Track
from catalog.rendering import encode_mp3, render_media, synthesize
from tests.catalog.midi_samples import midi_bytes


def test_render_media_produces_playable_ogg_and_png():
    media = render_media(midi_bytes(notes=24, seconds_per_note=0.25, program=40, drums=True))
    audio, rate = soundfile.read(io.BytesIO(media.audio))
    info = soundfile.info(io.BytesIO(media.audio))
    assert info.format == "OGG" and info.subtype == "VORBIS"
    assert rate == 44100 and audio.shape[1] == 2
    assert 6.0 < len(audio) / rate < 8.5  # 6 s of notes plus the release tail
    assert 0.3 < abs(audio).max() <= 1.0  # normalised, audible, not clipped
    image = Image.open(io.BytesIO(media.pianoroll))
    assert image.format == "PNG" and image.size == (900, 300)
    colours = {c for _, c in image.getcolors(maxcolors=100_000)}
    assert len(colours) >= 3  # background, violin notes, drum notes


def test_encode_mp3_decodes_back_to_the_same_duration():
    audio = synthesize(midi_bytes(notes=24, seconds_per_note=0.25, program=40, drums=True))
    data = encode_mp3(audio)
    info = soundfile.info(io.BytesIO(data))
    assert info.format == "MP3" and info.subtype == "MPEG_LAYER_III"
    decoded, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    assert rate == 44100 and decoded.shape[1] == 2
    assert abs(len(decoded) - len(audio)) <= 1152  # at most one MP3 frame of padding
    assert abs(info.duration - len(audio) / rate) < 0.05
    assert 0.3 < abs(decoded).max() <= 1.0  # audible, not clipped
    assert 32_000 < len(data) * 8 / info.duration < 200_000  # VBR, bits per second


@pytest.mark.django_db
def test_render_service_marks_ready_and_stores_files(django_capture_on_commit_callbacks):
    with mock.patch("catalog.tasks.render_track.delay"):
        track = services.track_ingest(filename="tune.mid", data=midi_bytes(notes=32))
    from catalog.tasks import render_track

    with (
        mock.patch("catalog.tasks.encode_track_mp3.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert render_track.run(track.pk) == "ready"
    track.refresh_from_db()
    assert track.render_status == Track.RenderStatus.READY and track.render_error == ""
    with track.audio_file.open("rb") as handle:
        assert soundfile.info(handle).duration > 7.0
    assert track.audio_file.name.endswith(".ogg") and track.pianoroll_image.name.endswith(".png")
    # Playable at once; the MP3 follows in a task of its own.
    assert not track.audio_mp3_file and queued.call_args.args == (track.pk,)
    services.track_encode_mp3(track_id=track.pk)
    track.refresh_from_db()
    with track.audio_mp3_file.open("rb") as handle:
        assert soundfile.info(handle).duration > 7.0
    assert track.audio_mp3_file.name.endswith(".mp3")

    # Rendering again replaces the files rather than piling them up; the old MP3 goes with
    # the old audio, and a new one is queued.
    old_audio, old_mp3 = track.audio_file.name, track.audio_mp3_file.name
    with (
        mock.patch("catalog.tasks.encode_track_mp3.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.track_render(track_id=track.pk)
    track.refresh_from_db()
    assert track.audio_file.storage.exists(track.audio_file.name)
    assert old_audio == track.audio_file.name or not track.audio_file.storage.exists(old_audio)
    assert not track.audio_mp3_file and not track.audio_file.storage.exists(old_mp3)
    assert queued.call_args.args == (track.pk,)


@pytest.mark.django_db
def test_render_failure_is_recorded():
    with mock.patch("catalog.tasks.render_track.delay"):
        track = services.track_ingest(filename="tune.mid", data=midi_bytes())
    with mock.patch("catalog.rendering.synthesize", side_effect=RuntimeError("synth exploded")):
        services.track_render(track_id=track.pk)
    track.refresh_from_db()
    assert track.render_status == Track.RenderStatus.FAILED
    assert "synth exploded" in track.render_error
    assert not track.audio_file


@pytest.mark.django_db
def test_rerender_action_queues_after_commit(django_capture_on_commit_callbacks):
    with mock.patch("catalog.tasks.render_track.delay"):
        track = services.track_ingest(filename="tune.mid", data=midi_bytes())
    with (
        mock.patch("catalog.tasks.render_track.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.tracks_rerender(track_ids=[track.pk]) == 1
    delay.assert_called_once_with(track.pk, skip_ready=True)


@pytest.mark.django_db
def test_render_pending_command_requeues_only_unfinished(django_capture_on_commit_callbacks):
    from django.core.management import call_command

    from tests.factories import TrackFactory

    pending = TrackFactory(render_status=Track.RenderStatus.PENDING)
    failed = TrackFactory(render_status=Track.RenderStatus.FAILED)
    TrackFactory(render_status=Track.RenderStatus.READY, audio_mp3_file="audio/test/a.mp3")
    with (
        mock.patch("catalog.tasks.render_track.delay") as delay,
        mock.patch("catalog.tasks.encode_track_mp3.delay") as mp3,
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("render_pending")
    assert [c.args[0] for c in delay.call_args_list] == [pending.pk]
    assert not mp3.called  # the ready piece has its MP3
    with (
        mock.patch("catalog.tasks.render_track.delay") as delay,
        mock.patch("catalog.tasks.encode_track_mp3.delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("render_pending", "--failed")
    assert sorted(c.args[0] for c in delay.call_args_list) == sorted([pending.pk, failed.pk])


@pytest.mark.django_db
def test_render_pending_backfills_the_mp3_of_a_piece_rendered_before_it(
    django_capture_on_commit_callbacks,
):
    from django.core.management import call_command

    from catalog.tasks import encode_track_mp3

    with mock.patch("catalog.tasks.render_track.delay"):
        track = services.track_ingest(filename="tune.mid", data=midi_bytes(notes=16))
    services.track_render(track_id=track.pk)
    track.refresh_from_db()
    track.audio_mp3_file.delete(save=True)  # as rendered before there was an MP3
    ogg, roll = track.audio_file.name, track.pianoroll_image.name
    with (
        mock.patch("catalog.tasks.render_track.delay") as render,
        mock.patch("catalog.tasks.encode_track_mp3.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("render_pending")
    assert [c.args[0] for c in delay.call_args_list] == [track.pk] and not render.called
    track.refresh_from_db()
    assert track.render_status == Track.RenderStatus.READY  # still playable meanwhile

    assert encode_track_mp3.run(track.pk) is True
    track.refresh_from_db()
    assert track.render_status == Track.RenderStatus.READY
    assert (track.audio_file.name, track.pianoroll_image.name) == (ogg, roll)  # kept as they were
    with track.audio_mp3_file.open("rb") as handle:
        info = soundfile.info(handle)
    assert info.format == "MP3" and 4.0 < info.duration < 6.0  # 16 quarter-second notes + tail
    with mock.patch("catalog.rendering.synthesize") as synth:
        assert encode_track_mp3.run(track.pk) is True  # already there: nothing to do
    assert not synth.called
    with (
        mock.patch("catalog.tasks.encode_track_mp3.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("render_pending")
    assert not delay.called


@pytest.mark.django_db
def test_a_failed_mp3_backfill_leaves_the_piece_playable():
    from catalog.tasks import encode_track_mp3

    with mock.patch("catalog.tasks.render_track.delay"):
        track = services.track_ingest(filename="tune.mid", data=midi_bytes())
    services.track_render(track_id=track.pk)
    track.refresh_from_db()
    track.audio_mp3_file.delete(save=True)
    with mock.patch("catalog.rendering.encode_mp3", side_effect=RuntimeError("lame exploded")):
        assert encode_track_mp3.run(track.pk) is False
    track.refresh_from_db()
    assert track.render_status == Track.RenderStatus.READY and track.audio_file
    assert not track.audio_mp3_file
    assert encode_track_mp3.run(10**9) is False  # a piece deleted meanwhile


@pytest.mark.django_db
def test_a_piece_rendered_ahead_is_not_rendered_again_by_its_queued_task():
    with mock.patch("catalog.tasks.render_track.delay"):
        track = services.track_ingest(filename="tune.mid", data=midi_bytes())
    from catalog.tasks import render_track

    assert render_track.run(track.pk, skip_ready=True) == "ready"  # ahead of the queue
    with mock.patch("catalog.rendering.render_media", wraps=render_media) as rendered:
        assert render_track.run(track.pk, skip_ready=True) == "ready"  # the queued task
        assert not rendered.called
        services.track_render(track_id=track.pk)  # an explicit render always renders
        assert rendered.called


@pytest.mark.django_db
def test_a_waiting_listener_gets_the_piece_rendered_ahead_of_the_queue(client):
    """Opening a piece whose audio is pending queues it on the interactive queue, once while
    the page polls; a rendered piece queues nothing."""
    with mock.patch("catalog.tasks.render_track.delay"):
        track = services.track_ingest(filename="tune.mid", data=midi_bytes())
    with mock.patch("catalog.tasks.render_track.apply_async") as apply_async:
        assert client.get(f"/tracks/{track.pk}/").status_code == 200
        for _ in range(3):  # the player partial polls every two seconds
            client.get(f"/tracks/{track.pk}/player/", headers={"HX-Request": "true"})
    apply_async.assert_called_once_with(
        (track.pk,), {"skip_ready": True}, queue=services.INTERACTIVE_QUEUE
    )
    Track.objects.filter(pk=track.pk).update(render_status=Track.RenderStatus.READY)
    cache.delete(f"catalog:render-soon:{track.pk}")  # two minutes later
    with mock.patch("catalog.tasks.render_track.apply_async") as apply_async:
        client.get(f"/tracks/{track.pk}/")
    assert not apply_async.called
