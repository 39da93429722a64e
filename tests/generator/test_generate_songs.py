"""``manage.py generate_songs``: songs as the site writes them, with a manifest naming each
song's model piece, and clear errors for input it cannot use."""

import json
from io import StringIO

import pytest
import symusic
from django.core.management import CommandError, call_command

from generator.ml.accompaniment import split_accompanied
from generator.selectors import track_style
from tests.generator.conftest import write_piece


def _run(out, **opts) -> list[dict]:
    call_command("generate_songs", out=out, count=2, seconds=10, seed=0, stdout=StringIO(), **opts)
    return json.loads((out / "manifest.json").read_text())


def _first_notes(score: symusic.Score, quarters: float) -> list[tuple[float, int]]:
    tpq = score.ticks_per_quarter
    return sorted(
        (round(n.time / tpq, 3), n.pitch)
        for t in score.tracks
        for n in t.notes
        if n.time < quarters * tpq
    )


def test_songs_for_listeners_who_loved_a_catalog_piece(active_version, catalog_track, tmp_path):
    tracks = {t.pk: t for t in (catalog_track(seed=s) for s in (21, 22, 23))}
    manifest = _run(tmp_path / "out")
    assert [e["file"] for e in manifest] == ["001.mid", "002.mid"]
    for entry in manifest:
        loved = tracks[entry["loved"]["id"]]
        assert entry["loved"]["title"] == loved.title
        assert entry["style"] == track_style(loved)
        assert entry["tempo"] == pytest.approx(loved.tempo_bpm)
        assert entry["instruments"] and all(isinstance(i, str) for i in entry["instruments"])
        assert 7 <= entry["seconds"] <= 13
        song = symusic.Score(str(tmp_path / "out" / entry["file"]))
        assert song.note_num() > 0
    assert manifest[0]["seed"] != manifest[1]["seed"]


def test_the_same_seed_writes_the_same_songs(active_version, catalog_track, tmp_path):
    catalog_track(seed=24)
    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    assert first == second
    assert (tmp_path / "a" / "001.mid").read_bytes() == (tmp_path / "b" / "001.mid").read_bytes()


def test_each_song_opens_with_its_primers_first_bars(tiny_checkpoint, midi_dir, tmp_path):
    manifest = _run(tmp_path / "out", primer_dir=midi_dir, checkpoint=tiny_checkpoint)
    assert [e["primer"] for e in manifest] == ["piece00.mid", "piece01.mid"]
    for entry in manifest:
        assert entry["key"] == "C major" and entry["time_signature"] == "4/4"
        assert entry["tempo"] == pytest.approx(120.0)
        primer = symusic.Score(str(midi_dir / entry["primer"]))
        song = symusic.Score(str(tmp_path / "out" / entry["file"]))
        # the primer is a melody over half-note chords: the song opens with its melody's two
        # bars (4/4), and its chords, written afresh under the tune, keep the half-note rhythm
        tune, chords = split_accompanied(song)
        assert _first_notes(tune, 8) == _first_notes(split_accompanied(primer)[0], 8)
        assert chords is not None and chords.pattern == (0.0, 2.0)
        assert 7 <= entry["seconds"] <= 13


def test_a_primer_without_notes_is_skipped_and_named(tiny_checkpoint, tmp_path):
    import pretty_midi

    folder = tmp_path / "primers"
    folder.mkdir()
    silent = pretty_midi.PrettyMIDI()
    silent.instruments.append(pretty_midi.Instrument(program=0))
    silent.write(str(folder / "a-silent.mid"))
    write_piece(folder / "b-tune.mid", seed=5)
    err = StringIO()
    call_command(
        "generate_songs",
        out=tmp_path / "out",
        count=2,
        seconds=10,
        primer_dir=folder,
        checkpoint=tiny_checkpoint,
        stdout=StringIO(),
        stderr=err,
    )
    assert "a-silent.mid" in err.getvalue()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [e["primer"] for e in manifest] == ["b-tune.mid", "b-tune.mid"]


@pytest.mark.parametrize(
    "opts,message",
    [
        ({"count": 0}, "--count"),
        ({"seconds": 200}, "--seconds"),
        ({"seconds": 2}, "--seconds"),
        ({"primer_dir": "/no/such/folder"}, "/no/such/folder"),
    ],
)
def test_bad_input_is_an_error_naming_the_problem(tiny_checkpoint, tmp_path, opts, message):
    args = {"count": 1, "seconds": 10, **opts}
    with pytest.raises(CommandError, match=message):
        call_command("generate_songs", out=tmp_path / "out", checkpoint=tiny_checkpoint, **args)


def test_an_empty_catalog_is_an_error_saying_so(active_version, tmp_path):
    with pytest.raises(CommandError, match="catalog"):
        call_command("generate_songs", out=tmp_path / "out", count=1, seconds=10)
