"""Hostile MIDI headers and archives: each file of an import succeeds or fails alone, with its
reason in the report, on the staff upload page and in ``import_midi``; never a 500."""

import struct
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from catalog import services
from catalog.models import Track
from tests.catalog.midi_samples import midi_bytes, zip_bytes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _division(value: int) -> bytes:
    """A good piece whose header says ``value`` ticks per beat (bytes 12-13, signed)."""
    good = midi_bytes(seed=3)
    return good[:12] + struct.pack(">h", value) + good[14:]


def _meta(kind: bytes, payload: bytes, *, key: str | None = None) -> bytes:
    """A good piece with the first meta event of ``kind`` (FF kind len) given ``payload``."""
    good = midi_bytes(seed=4, key=key)
    at = good.find(b"\xff" + kind)
    assert at > 0
    return good[: at + 3] + payload + good[at + 3 + len(payload) :]


HOSTILE = {
    "zero-division.mid": (_division(0), "time division is unusable (0)"),
    "smpte-division.mid": (_division(-6360), "time division is unusable"),
    "zero-tempo.mid": (_meta(b"\x51\x03", b"\x00\x00\x00"), "absurd tempo (infinite)"),
    "one-us-tempo.mid": (_meta(b"\x51\x03", b"\x00\x00\x01"), "absurd tempo (60,000,000 bpm)"),
    "meter-2-255.mid": (_meta(b"\x58\x04", b"\x03\xff\x18\x08"), "absurd time signature"),
    "bad-key.mid": (_meta(b"\x59\x02", b"\x7f\x05", key="C major"), "damaged or truncated"),
}


def _archive() -> bytes:
    members = {"1-before.mid": midi_bytes(seed=1)}
    members.update({f"2-{name}": data for name, (data, _) in HOSTILE.items()})
    members["3-after.mid"] = midi_bytes(seed=2)
    return zip_bytes(members)


def _assert_each_file_alone(report) -> None:
    by_name = {r.filename.rsplit("/", 1)[-1]: r for r in report.results}
    assert by_name["1-before.mid"].outcome == "created"
    assert by_name["3-after.mid"].outcome == "created"
    for name, (_, reason) in HOSTILE.items():
        result = by_name[f"2-{name}"]
        assert result.outcome == "rejected" and reason in result.reason, (name, result.reason)
    assert sorted(Track.objects.values_list("title", flat=True)) == ["1 Before", "3 After"]


def test_hostile_headers_are_rejected_file_by_file_in_a_zip(settings):
    with mock.patch("catalog.tasks.render_track.delay"):
        report = services.catalog_import(sources=[SimpleUploadedFile("set.zip", _archive())])
    _assert_each_file_alone(report)


def test_staff_upload_of_a_hostile_zip_reports_each_file(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with mock.patch("catalog.tasks.render_track.delay"):
        response = client.post(
            reverse("catalog:staff_upload"),
            {"file": SimpleUploadedFile("set.zip", _archive()), "status": "published"},
        )
    assert response.status_code == 200
    body = response.content.decode()
    assert f"2 created, 0 duplicates, {len(HOSTILE)} rejected" in body
    assert "set.zip/2-zero-division.mid" in body and "time division is unusable" in body


def test_import_midi_command_reports_each_file(tmp_path, capsys):
    path = tmp_path / "set.zip"
    path.write_bytes(_archive())
    with mock.patch("catalog.tasks.render_track.delay"):
        call_command("import_midi", str(path))
    out = capsys.readouterr().out
    assert f"2 created, 0 duplicates, {len(HOSTILE)} rejected" in out
    assert "2-zero-tempo.mid: the file sets an absurd tempo (infinite)" in out


def test_an_unexpected_failure_rejects_that_file_alone(settings):
    """A parser bug not foreseen here still leaves the other files of the import imported."""
    real = services.parse_midi

    def flaky(data):
        if data == HOSTILE["zero-division.mid"][0]:
            raise RuntimeError("boom")
        return real(data)

    archive = zip_bytes(
        {
            "1-before.mid": midi_bytes(seed=1),
            "2-odd.mid": HOSTILE["zero-division.mid"][0],
            "3-after.mid": midi_bytes(seed=2),
        }
    )
    with (
        mock.patch("catalog.services.parse_midi", flaky),
        mock.patch("catalog.tasks.render_track.delay"),
    ):
        report = services.catalog_import(sources=[SimpleUploadedFile("set.zip", archive)])
    assert [r.outcome for r in report.results] == ["created", "rejected", "created"]
    assert "could not be imported" in report.results[1].reason
    assert "boom" not in report.results[1].reason  # no internals in a report


def test_many_small_members_that_expand_together_are_a_zip_bomb(settings):
    """190 members of 1 MiB of zeros (each under the per-member ratio check's 1 MiB floor)."""
    members = {f"z{i:03}.mid": b"\0" * 2**20 for i in range(190)}
    archive = zip_bytes(members)
    assert len(archive) < 250_000
    with mock.patch("catalog.ingest.sources._read_capped") as read:
        read.side_effect = AssertionError("a member was unpacked")
        report = services.catalog_import(sources=[SimpleUploadedFile("bomb.zip", archive)])
    archive_row, *members = report.results
    assert archive_row.filename == "bomb.zip" and "zip bomb" in archive_row.reason
    assert len(members) == 190  # every member listed, none read
    assert {(m.outcome, m.reason) for m in members} == {
        ("rejected", "not read: the archive was refused")
    }
