"""The ingest service: metadata extraction, deduplication, batches, and render queueing."""

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import services
from catalog.midi import estimate_key, read_midi
from catalog.models import Track
from tests.catalog.midi_samples import midi_bytes, zip_bytes


def test_read_midi_extracts_metadata():
    info = read_midi(midi_bytes(notes=16, program=40, tempo=90), max_duration_seconds=600)
    assert info.duration_seconds == pytest.approx(15 * 0.25 + 0.225, abs=0.01)
    assert info.tempo_bpm == pytest.approx(90, abs=0.5)
    assert info.time_signature == "3/4"
    assert info.instruments == ["Violin"]
    assert info.note_count == 16
    assert (info.pitch_min, info.pitch_max) == (60, 72)
    assert info.key == "C major"


def test_drum_tracks_are_named_drums():
    info = read_midi(midi_bytes(drums=True), max_duration_seconds=600)
    assert info.instruments == ["Acoustic Grand Piano", "Drums"]
    assert info.note_count == 32
    assert info.pitch_min == 60  # drum "pitches" are instruments, not part of the range


def test_key_estimate_without_and_with_signature():
    # D harmonic minor, weighted towards D and A.
    d_minor = np.zeros(12)
    for pc, weight in {2: 6, 4: 2, 5: 4, 7: 3, 9: 5, 10: 2, 1: 2, 0: 1}.items():
        d_minor[pc] = weight
    assert estimate_key(d_minor) == "D minor"
    # A one-flat signature leaves F major or D minor; the histogram picks D minor.
    assert estimate_key(d_minor, signature_key_number=5) == "D minor"
    # A signature outside the pair is trusted for the tonic pair, never contradicted.
    assert estimate_key(d_minor, signature_key_number=7) in {"G major", "E minor"}


@pytest.mark.django_db
def test_ingest_creates_track_file_and_queues_render(django_capture_on_commit_callbacks):
    data = midi_bytes(notes=24)
    with (
        mock.patch("catalog.tasks.render_track.delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        track = services.track_ingest(
            filename="Morning Song.mid",
            data=data,
            artist_name="Anon",
            collection_name="Tests",
            tag_names=["folk", "jig"],
        )
    assert len(callbacks) == 1
    delay.assert_called_once_with(track.pk, skip_ready=True)
    track.refresh_from_db()
    assert track.title == "Morning Song"
    assert track.artist.name == "Anon" and track.collection.name == "Tests"
    assert sorted(t.name for t in track.tags.all()) == ["folk", "jig"]
    assert track.render_status == Track.RenderStatus.PENDING
    assert track.note_count == 24
    with track.midi_file.open("rb") as handle:
        assert handle.read() == data


@pytest.mark.django_db
def test_duplicate_is_reported_and_batch_goes_on(tmp_path, django_capture_on_commit_callbacks):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "a.mid").write_bytes(midi_bytes(seed=1))
    (folder / "b.mid").write_bytes(midi_bytes(seed=1))  # same bytes as a.mid
    (folder / "c.mid").write_bytes(midi_bytes(seed=2))
    (folder / "readme.txt").write_text("not music")  # ignored in folders
    with mock.patch("catalog.tasks.render_track.delay"):
        report = services.catalog_import(sources=[folder], collection_name="Batch")
    outcomes = {Path(r.filename).name: (r.outcome, r.reason) for r in report.results}
    assert outcomes["a.mid"][0] == "created"
    first = Track.objects.get(title="A")
    assert outcomes["b.mid"] == ("duplicate", f"duplicate of #{first.pk} “A”")
    assert outcomes["c.mid"][0] == "created"
    assert report.summary == "2 created, 1 duplicates, 0 rejected"
    assert Track.objects.filter(collection__name="Batch").count() == 2


@pytest.mark.django_db
def test_zip_and_upload_sources():
    archive = zip_bytes(
        {
            "set/one.mid": midi_bytes(seed=3),
            "set/two.midi": midi_bytes(seed=4),
            "__MACOSX/._one.mid": b"junk",
            "notes.txt": b"hello",
        }
    )
    upload = SimpleUploadedFile("tunes.zip", archive, content_type="application/zip")
    single = SimpleUploadedFile("solo.mid", midi_bytes(seed=5), content_type="audio/midi")
    with mock.patch("catalog.tasks.render_track.delay"):
        report = services.catalog_import(sources=[upload, single], artist_name="Trad.")
    rows = [(r.filename, r.outcome) for r in report.results]
    assert rows == [
        ("tunes.zip/set/one.mid", "created"),
        ("tunes.zip/set/two.midi", "created"),
        ("tunes.zip/__MACOSX/._one.mid", "skipped"),
        ("tunes.zip/notes.txt", "rejected"),
        ("solo.mid", "created"),
    ]
    assert report.summary == "3 created, 0 duplicates, 1 rejected, 1 skipped"
    assert set(Track.objects.values_list("artist__name", flat=True)) == {"Trad."}


@pytest.mark.django_db
def test_import_midi_command(tmp_path, capsys):
    from django.core.management import call_command

    (tmp_path / "x.mid").write_bytes(midi_bytes(seed=6))
    (tmp_path / "y.mid").write_bytes(midi_bytes(seed=7)[:40])
    with mock.patch("catalog.tasks.render_track.delay"):
        call_command("import_midi", str(tmp_path), "--collection", "Cmd", "--status", "draft")
    out = capsys.readouterr().out
    assert "1 created, 0 duplicates, 1 rejected" in out
    assert "y.mid" in out and "damaged or truncated" in out
    assert Track.objects.get().status == Track.Status.DRAFT
