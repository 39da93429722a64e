import math
from itertools import pairwise

import pretty_midi
import pytest

from generator.ml.checkpoint import load_checkpoint
from generator.ml.constraints import Constraints, scale_pitch_classes
from generator.ml.sample import SampleSettings, bars_for_seconds, generate, write_midi
from generator.ml.tokenizer import encode_file, find_midi_files, header_ids, opening_ids


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    model, _, tokenizer, _ = load_checkpoint(tiny_checkpoint)
    return model, tokenizer


def _reload(score, tmp_path):
    path = write_midi(score, tmp_path / "out.mid")
    return pretty_midi.PrettyMIDI(str(path))


def test_piece_is_valid_midi_with_notes_that_all_end_inside_it(loaded, tmp_path):
    model, tok = loaded
    c = Constraints(bars=6, tempo_bpm=90, time_signature="4/4", program=40)
    g = generate(model, tok, constraints=c, settings=SampleSettings(seed=0, temperature=1.2))
    pm = _reload(g.score, tmp_path)
    notes = pm.instruments[0].notes
    assert notes, "never silent"
    assert pm.instruments[0].program == 40
    bar_s = 4 * 60 / 90
    # within 0.1 ms: MIDI stores the tempo in whole microseconds a beat (666,667 at 90 BPM)
    assert all(n.start < n.end <= 6 * bar_s + 1e-4 for n in notes)
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90, abs=0.01)
    # every bar has at least one note onset
    bars_with_notes = {int(n.start // bar_s) for n in notes}
    assert bars_with_notes == set(range(6))


def test_key_and_polyphony_constraints_hold(loaded, tmp_path):
    model, tok = loaded
    c = Constraints(
        bars=4, key="D minor", max_polyphony=2, pitch_range=(50, 80), out_of_key_penalty=math.inf
    )
    g = generate(model, tok, constraints=c, settings=SampleSettings(seed=1, temperature=1.5))
    notes = _reload(g.score, tmp_path).instruments[0].notes
    allowed = scale_pitch_classes("D minor")
    assert all(n.pitch % 12 in allowed and 50 <= n.pitch <= 80 for n in notes)
    for n in notes:
        sounding = sum(1 for m in notes if m.start <= n.start < m.end)
        assert sounding <= 2


def test_the_key_penalty_makes_notes_outside_the_key_rare(loaded):
    model, tok = loaded
    allowed = scale_pitch_classes("D minor")

    def outside(penalty: float) -> float:
        notes = [
            n.pitch
            for seed in range(4)
            for t in generate(
                model,
                tok,
                constraints=Constraints(bars=6, key="D minor", out_of_key_penalty=penalty),
                settings=SampleSettings(seed=seed, temperature=1.5),
            ).score.tracks
            for n in t.notes
        ]
        return sum(p % 12 not in allowed for p in notes) / len(notes)

    free, soft = outside(0.0), outside(3.0)
    assert free > 0.1  # the tiny model, hot, ignores the key
    assert 0 < soft < free / 2  # penalised, not forbidden


def test_primer_conditions_but_is_not_copied(loaded, midi_dir):
    model, tok = loaded
    primer = opening_ids(tok, encode_file(tok, find_midi_files([midi_dir])[0]), 2)
    g = generate(
        model, tok, primer=primer, constraints=Constraints(bars=3), settings=SampleSettings(seed=2)
    )
    assert g.ids[0] == tok["Bar_None"]
    assert g.ids.count(tok["Bar_None"]) == 3


def test_greedy_and_seeded_sampling_are_reproducible(loaded):
    model, tok = loaded
    c = Constraints(bars=2)
    a = generate(model, tok, constraints=c, settings=SampleSettings(greedy=True))
    b = generate(model, tok, constraints=c, settings=SampleSettings(greedy=True))
    assert a.ids == b.ids
    s1 = generate(model, tok, constraints=c, settings=SampleSettings(seed=5, top_k=10))
    s2 = generate(model, tok, constraints=c, settings=SampleSettings(seed=5, top_k=10))
    assert s1.ids == s2.ids


def test_unseeded_sampling_draws_a_fresh_piece_each_time(loaded):
    """Without a seed the sampler starts from fresh entropy (a new torch.Generator always starts
    from the same default seed, so every unseeded piece was the same)."""
    model, tok = loaded
    c = Constraints(bars=4)
    drawn = [generate(model, tok, constraints=c, settings=SampleSettings()).ids for _ in range(2)]
    assert drawn[0] != drawn[1]


def test_cache_and_no_cache_sample_the_same_piece(loaded):
    model, tok = loaded
    c = Constraints(bars=3)
    a = generate(model, tok, constraints=c, settings=SampleSettings(seed=9, use_cache=True))
    b = generate(model, tok, constraints=c, settings=SampleSettings(seed=9, use_cache=False))
    assert a.ids == b.ids


def test_long_piece_runs_past_the_context_window(loaded):
    model, tok = loaded
    g = generate(model, tok, constraints=Constraints(bars=24), settings=SampleSettings(seed=3))
    assert len(g.ids) > 2 * model.config.max_len
    assert g.ids.count(tok["Bar_None"]) == 24


def test_past_the_window_the_model_reads_the_header_and_recent_tokens(loaded, monkeypatch):
    """Each re-read context opens with the song's header (its style and key), as every
    training window does, and is never longer than the model's window."""
    model, tok = loaded
    contexts = []
    init_state = model.init_state
    monkeypatch.setattr(
        model, "init_state", lambda ids: contexts.append(ids[0].tolist()) or init_state(ids)
    )
    primer = header_ids(tok, style="chorale", key=(7, "major"))
    generate(
        model, tok, primer=primer, constraints=Constraints(bars=24), settings=SampleSettings(seed=3)
    )
    assert len(contexts) > 2  # the first read and at least two re-reads
    for context in contexts:
        assert context[: len(primer)] == primer
        assert len(context) <= model.config.max_len


def test_bad_settings_are_refused(loaded):
    model, tok = loaded
    with pytest.raises(ValueError, match="temperature"):
        generate(model, tok, settings=SampleSettings(temperature=0))
    with pytest.raises(ValueError, match="key"):
        generate(model, tok, constraints=Constraints(key="H major"))


def test_seconds_convert_to_bars():
    assert bars_for_seconds(30, 120, "4/4") == 15
    assert bars_for_seconds(30, 90, "3/4") == 15
    assert bars_for_seconds(1, 60, "4/4") == 1


def test_a_one_voice_piece_never_sounds_two_notes(loaded):
    model, tok = loaded
    for seed in range(4):
        c = Constraints(bars=16, max_polyphony=1)
        score = generate(model, tok, constraints=c, settings=SampleSettings(seed=seed)).score
        notes = sorted((n.time, n.end) for t in score.tracks for n in t.notes)
        assert all(end <= start for (_, end), (start, _) in pairwise(notes))
