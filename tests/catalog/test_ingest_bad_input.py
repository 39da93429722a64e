"""Bad input: each case is rejected with the file's name and a reason, leaving nothing behind."""

import os
import zipfile
from unittest import mock

import pretty_midi
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import services
from catalog.models import Artist, Collection, Track
from tests.catalog.midi_samples import empty_midi_bytes, midi_bytes, zip_bytes


def _import(source, **kwargs):
    with mock.patch("catalog.tasks.render_track.delay") as delay:
        report = services.catalog_import(sources=[source], collection_name="Bad", **kwargs)
    assert not delay.called
    return report


def _assert_nothing_left(settings):
    assert Track.objects.count() == 0
    assert Collection.objects.count() == 0 and Artist.objects.count() == 0
    stored = [f for _, _, files in os.walk(settings.MEDIA_ROOT) for f in files]
    assert stored == []


def _only_rejection(report):
    assert [r.outcome for r in report.results] == ["rejected"]
    return report.results[0]


def _long_midi(hours: float) -> bytes:
    import io

    midi = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes.append(pretty_midi.Note(velocity=80, pitch=60, start=0, end=1))
    inst.notes.append(
        pretty_midi.Note(velocity=80, pitch=62, start=hours * 3600 - 1, end=hours * 3600)
    )
    midi.instruments.append(inst)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("photo.jpg", b"\xff\xd8\xff\xe0 not music", "not a MIDI file"),
        ("fake.mid", b"just some text, honestly", "not a MIDI file"),
        ("cut.mid", midi_bytes(notes=40)[:60], "damaged or truncated"),
        ("silence.mid", empty_midi_bytes(), "contains no notes"),
        ("marathon.mid", _long_midi(3), "lasts 180 minutes; the limit is 30 minutes"),
    ],
)
def test_bad_files_are_rejected(settings, tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    result = _only_rejection(_import(path))
    assert result.filename.endswith(name)
    assert reason in result.reason
    assert "()" not in result.reason  # the reason never ends in an empty detail
    _assert_nothing_left(settings)


@pytest.mark.django_db
def test_header_only_midi_says_it_ends_too_early(settings, tmp_path):
    path = tmp_path / "stub.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    result = _only_rejection(_import(path))
    assert result.reason.endswith("damaged or truncated (it ends too early)")


@pytest.mark.django_db
def test_oversized_upload_is_refused_before_reading(settings):
    settings.MAX_UPLOAD_BYTES = 1000
    upload = SimpleUploadedFile("big.zip", b"PK" + b"\0" * 5000)
    result = _only_rejection(_import(upload))
    assert result.filename == "big.zip"
    assert "the upload is" in result.reason and "limit" in result.reason
    _assert_nothing_left(settings)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "member", ["../escape.mid", "/etc/cron.d/evil.mid", "a/../../b.mid", "C:/x.mid"]
)
def test_zip_slip_refuses_that_member_and_still_reads_the_others(settings, member):
    archive = zip_bytes(
        {"good.mid": midi_bytes(seed=1), member: midi_bytes(seed=2), "notes.txt": b"hi"}
    )
    report = _import(SimpleUploadedFile("slip.zip", archive))
    rows = [(r.filename, r.outcome) for r in report.results]
    assert rows == [
        ("slip.zip/good.mid", "created"),
        (f"slip.zip/{member}", "rejected"),
        ("slip.zip/notes.txt", "rejected"),
    ]
    assert report.results[1].reason.startswith("unsafe path inside the archive")
    assert report.results[2].reason.startswith("not a MIDI file")
    assert Track.objects.get().source == "slip.zip/good.mid"  # the unsafe member was never read
    stored = [f for _, _, files in os.walk(settings.MEDIA_ROOT) for f in files]
    assert len(stored) == 1


@pytest.mark.django_db
def test_a_zip_bomb_member_is_refused_alone(settings):
    archive = zip_bytes({"good.mid": midi_bytes(), "bomb.mid": b"\0" * (20 * 1024 * 1024)})
    assert len(archive) < 100_000
    with mock.patch("catalog.tasks.render_track.delay"):
        report = services.catalog_import(sources=[SimpleUploadedFile("bomb.zip", archive)])
    rows = {r.filename: (r.outcome, r.reason) for r in report.results}
    assert rows["bomb.zip/good.mid"][0] == "created"
    outcome, reason = rows["bomb.zip/bomb.mid"]
    assert outcome == "rejected" and "expands" in reason and "zip bomb" in reason


@pytest.mark.django_db
def test_zip_bomb_by_total_size_and_member_count(settings):
    settings.CATALOG_MAX_ARCHIVE_BYTES = 20_000
    many = zip_bytes({f"t{i}.mid": midi_bytes(seed=i, notes=400) for i in range(20)})
    report = _import(SimpleUploadedFile("huge.zip", many))
    archive_row, *members = report.results
    assert archive_row.filename == "huge.zip" and archive_row.outcome == "rejected"
    assert "unpacks to" in archive_row.reason and "zip bomb" in archive_row.reason
    assert [m.filename for m in members] == [f"huge.zip/t{i}.mid" for i in range(20)]
    assert {(m.outcome, m.reason) for m in members} == {
        ("rejected", "not read: the archive was refused")
    }

    settings.CATALOG_MAX_ARCHIVE_MEMBERS = 5
    result = _only_rejection(
        _import(SimpleUploadedFile("crowd.zip", zip_bytes({f"t{i}.mid": b"x" for i in range(6)})))
    )
    assert result.reason == "the archive has 6 files; the limit is 5"
    _assert_nothing_left(settings)


@pytest.mark.django_db
def test_nested_junk_in_a_zip_is_reported_file_by_file(settings):
    inner = zip_bytes({"inner.mid": midi_bytes()})
    archive = zip_bytes(
        {
            "a/inner.zip": inner,
            "a/b/notes.txt": b"hi",
            "a/b/c/fake.mid": b"MThd",
            "a/empty.mid": empty_midi_bytes(),
        },
        compression=zipfile.ZIP_STORED,
    )
    report = _import(SimpleUploadedFile("junk.zip", archive))
    reasons = {r.filename: r.reason for r in report.results}
    assert [r.outcome for r in report.results] == ["rejected"] * 4
    assert reasons["junk.zip/a/inner.zip"] == "archives inside archives are not accepted"
    assert reasons["junk.zip/a/b/notes.txt"].startswith("not a MIDI file")
    assert reasons["junk.zip/a/b/c/fake.mid"].startswith("not a MIDI file")
    assert reasons["junk.zip/a/empty.mid"] == "the MIDI file contains no notes"
    _assert_nothing_left(settings)


@pytest.mark.django_db
def test_not_a_zip_and_missing_path(settings, tmp_path):
    result = _only_rejection(_import(SimpleUploadedFile("broken.zip", b"PK\x03\x04 nope")))
    assert result.reason.startswith("not a readable zip archive")
    result = _only_rejection(_import(tmp_path / "nowhere.mid"))
    assert "cannot be read" in result.reason
    _assert_nothing_left(settings)


@pytest.mark.django_db
def test_failure_while_saving_removes_the_stored_file(settings):
    with (
        mock.patch("catalog.models.Track.save", side_effect=RuntimeError("disk on fire")),
        pytest.raises(RuntimeError),
    ):
        services.track_ingest(filename="ok.mid", data=midi_bytes(), collection_name="Bad")
    _assert_nothing_left(settings)


@pytest.mark.django_db
def test_absurdly_long_midi_is_refused_before_allocating(settings, tmp_path):
    import mido

    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.Message("note_on", note=60, velocity=80, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=2**27))
    song.tracks.append(track)
    path = tmp_path / "forever.mid"
    song.save(path)
    result = _only_rejection(_import(path))
    assert result.reason == "the piece is far too long (134,217,728 ticks)"
    _assert_nothing_left(settings)
