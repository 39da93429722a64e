"""A song primed by a piece's opening begins with that opening and still lasts what was asked."""

from pathlib import Path

import pretty_midi
import pytest
import symusic

from generator.ml.checkpoint import load_checkpoint
from generator.ml.compose import SongSpec, compose, opening_of_file

SECONDS, TEMPO = 20.0, 120.0  # 4/4 at 120 BPM: 2 s a bar, 10 bars in all


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    model, _config, tokenizer, _meta = load_checkpoint(tiny_checkpoint)
    return model, tokenizer


def _notes_before(score: symusic.Score, quarters: float) -> list[tuple[float, int]]:
    """(onset in quarters, pitch) of every pitched note starting before ``quarters``."""
    tpq = score.ticks_per_quarter
    return sorted(
        (round(n.time / tpq, 3), n.pitch)
        for t in score.tracks
        if not t.is_drum
        for n in t.notes
        if n.time < quarters * tpq
    )


def _opening_spec(tokenizer, primer, *, style=None, form_source="") -> SongSpec:
    """A song in C major that opens with ``primer``'s first two bars."""
    return SongSpec(
        style=style,
        key="C major",
        tempo_bpm=TEMPO,
        seconds=SECONDS,
        seed=1,
        opening=opening_of_file(tokenizer, primer, bars=2),
        opening_bars=2,
        form_source=form_source,
    )


@pytest.mark.parametrize("style", [None, "chorale"])
def test_the_song_begins_with_the_primers_opening_notes(loaded, midi_dir, style):
    model, tokenizer = loaded
    primer = midi_dir / "piece03.mid"
    spec = _opening_spec(tokenizer, primer, style=style)
    song = compose(model, tokenizer, spec).score
    expected = _notes_before(symusic.Score(str(primer)), 8)
    assert len(expected) > 10
    assert _notes_before(song, 8) == expected
    end = song.to("second").end()
    assert SECONDS - 2.5 <= end <= SECONDS + 2.5, end
    assert _notes_before(song, 40)[-1][0] >= 8  # it goes on after the opening


def test_a_song_without_an_opening_is_as_long_as_one_with(loaded):
    model, tokenizer = loaded
    song = compose(
        model, tokenizer, SongSpec(style=None, key=None, tempo_bpm=TEMPO, seed=2, seconds=SECONDS)
    ).score
    assert SECONDS - 2.5 <= song.to("second").end() <= SECONDS + 2.5


def _write(path: Path, *, drum: bool, notes: bool) -> Path:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0, is_drum=drum)
    if notes:
        inst.notes.append(pretty_midi.Note(90, 38, 0.0, 0.5))
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


@pytest.mark.parametrize("drum,notes", [(True, True), (False, False)])
def test_a_primer_without_pitched_notes_is_an_error_naming_it(loaded, tmp_path, drum, notes):
    _model, tokenizer = loaded
    path = _write(tmp_path / "silent-primer.mid", drum=drum, notes=notes)
    with pytest.raises(ValueError, match=r"silent-primer\.mid"):
        opening_of_file(tokenizer, path)


def test_an_unreadable_primer_is_an_error_naming_it(loaded, tmp_path):
    _model, tokenizer = loaded
    path = tmp_path / "broken.mid"
    path.write_bytes(b"not a midi file")
    with pytest.raises(ValueError, match=r"broken\.mid"):
        opening_of_file(tokenizer, path)


def test_after_an_opening_the_tune_comes_back_to_it_where_the_piece_does(loaded, midi_dir):
    model, tokenizer = loaded
    spec = _opening_spec(tokenizer, midi_dir / "piece03.mid", form_source="ABCDABCDAB")
    song = compose(model, tokenizer, spec).score

    def bar(i: int) -> list[tuple[float, int]]:  # (onset in the bar, pitch), 4 quarters a bar
        return [(t - 4 * i, p) for t, p in _notes_before(song, 4 * i + 4) if t >= 4 * i]

    assert bar(0) and bar(1) and bar(0) != bar(1)
    assert bar(4) == bar(0) and bar(5) == bar(1)  # the second A B: the played opening again
    assert bar(8) == bar(0)  # and the third
