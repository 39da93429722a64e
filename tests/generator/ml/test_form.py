"""The sampler's musical guidance: clash guard, form plan (repeated sections), cadences."""

import math

import pytest
import symusic

from generator.ml.checkpoint import load_checkpoint
from generator.ml.constraints import (
    CLASH_PENALTY,
    ConstraintMasker,
    Constraints,
    dominant_triad,
    tonic_triad,
)
from generator.ml.form import FORM_BARS, piece_form, plan_form
from generator.ml.sample import SampleSettings, generate


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    model, _, tokenizer, _ = load_checkpoint(tiny_checkpoint)
    return model, tokenizer


def _clash_share(score) -> float:
    """Share of pairs of notes sounding together that are 1 or 11 semitones apart (mod 12)."""
    notes = [n for t in score.tracks for n in t.notes]
    pairs = clashes = 0
    for i, a in enumerate(notes):
        for b in notes[i + 1 :]:
            if a.time < b.time + b.duration and b.time < a.time + a.duration:
                pairs += 1
                clashes += (a.pitch - b.pitch) % 12 in {1, 11}
    return clashes / max(pairs, 1)


def test_clash_guard_keeps_semitones_apart(loaded):
    model, tok = loaded
    shares = {}
    for guard, penalty in ((False, 0.0), (True, CLASH_PENALTY), (True, math.inf)):
        scores = [
            generate(
                model,
                tok,
                constraints=Constraints(
                    bars=8, max_polyphony=4, avoid_clashes=guard, clash_penalty=penalty
                ),
                settings=SampleSettings(seed=seed, temperature=1.0),
            ).score
            for seed in range(6)
        ]
        shares[penalty] = sum(_clash_share(s) for s in scores) / len(scores)
    assert shares[0.0] > 0.05  # the unguarded sampler does clash
    # the soft guard (odds divided by e**1.5) cuts clashes; an infinite penalty all but forbids
    assert shares[CLASH_PENALTY] < shares[0.0] * 2 / 3
    assert shares[math.inf] < shares[0.0] / 10


def _bars(ids: list[int], bar_id: int) -> list[list[int]]:
    """The token ids of each bar (each list opens with its Bar token)."""
    starts = [i for i, t in enumerate(ids) if t == bar_id]
    return [ids[a:b] for a, b in zip(starts, [*starts[1:], len(ids)], strict=True)]


def test_a_sixteen_bar_piece_is_aaba_and_its_a_sections_replay_the_first(loaded):
    model, tok = loaded
    g = generate(model, tok, constraints=Constraints(bars=16), settings=SampleSettings(seed=0))
    assert (g.form, g.phrase_bars) == ("AABA", 4)
    bars = _bars(g.ids, tok["Bar_None"])
    assert len(bars) == 16  # stops exactly at the bars asked for
    assert bars[4:7] == bars[0:3]  # the second A re-plays the first A's first 3 bars
    assert bars[12:15] == bars[0:3]  # and so does the last
    assert bars[8:11] != bars[0:3]  # B is new material


def test_form_can_be_switched_off(loaded):
    model, tok = loaded
    c = Constraints(bars=16)
    g = generate(model, tok, constraints=c, settings=SampleSettings(seed=0, form=False))
    bars = _bars(g.ids, tok["Bar_None"])
    assert (g.form, g.phrase_bars) == ("", 0)
    assert len(bars) == 16 and bars[4:7] != bars[0:3]


@pytest.mark.parametrize(
    ("bars", "form", "phrase", "lengths"),
    [
        (1, "A", 4, [1]),
        (3, "A", 4, [3]),
        (6, "AA", 4, [4, 2]),
        (12, "ABA", 4, [4, 4, 4]),
        (14, "AABA", 4, [4, 4, 4, 2]),
        (32, "AABA", 8, [8, 8, 8, 8]),
        (40, "AABBA", 8, [8] * 5),
        (64, "AABACABA", 8, [8] * 8),
    ],
)
def test_plans_cover_exactly_the_bars_in_whole_phrases(bars, form, phrase, lengths):
    plan = plan_form(bars)
    assert (plan.form, plan.phrase_bars) == (form, phrase)
    assert [s.bars for s in plan.sections] == lengths
    assert plan.phrase_ends() == {sum(lengths[: i + 1]) - 1 for i in range(len(lengths))}


def test_a_repeated_section_resamples_its_last_bar():
    assert plan_form(40).replays() == {8: (0, 7), 24: (16, 7), 32: (0, 7)}
    assert plan_form(6).replays() == {4: (0, 1)}
    assert plan_form(3).replays() == {}


@pytest.mark.parametrize("use_cache", [True, False])
def test_form_keeps_sampling_reproducible_with_and_without_the_cache(loaded, use_cache):
    model, tok = loaded
    c = Constraints(bars=10)
    runs = [
        generate(model, tok, constraints=c, settings=SampleSettings(seed=4, use_cache=use_cache))
        for _ in range(2)
    ]
    assert runs[0].ids == runs[1].ids
    cached = generate(model, tok, constraints=c, settings=SampleSettings(seed=4))
    assert runs[0].ids == cached.ids


def _notes(score):
    return sorted((n for t in score.tracks for n in t.notes), key=lambda n: (n.time, n.pitch))


@pytest.mark.parametrize(("key", "polyphony"), [("C major", 6), ("A minor", 6), ("F major", 2)])
def test_with_a_key_the_piece_ends_held_on_the_tonic_triad(loaded, key, polyphony):
    model, tok = loaded
    for seed in range(4):
        c = Constraints(bars=6, key=key, max_polyphony=polyphony)
        g = generate(model, tok, constraints=c, settings=SampleSettings(seed=seed, temperature=1.5))
        notes = _notes(g.score)
        bar = 4 * g.score.ticks_per_quarter
        end = 6 * bar
        assert g.ids.count(tok["Bar_None"]) == 6
        last = [n for n in notes if n.time == notes[-1].time]
        assert last[0].time >= end - bar // 2  # the final chord comes in the last half bar
        assert len(last) == polyphony  # full: four voices end on four notes, not a lone bass
        assert {n.pitch % 12 for n in last} <= tonic_triad(key)
        assert all(n.end == end for n in last)  # held to the final bar line, not cut
        final_sonority = [n for n in notes if n.end > end - bar // 2]
        assert {n.pitch % 12 for n in final_sonority} <= tonic_triad(key)
        assert max(n.end for n in notes) == end


def test_without_the_cadence_the_last_note_is_free(loaded):
    model, tok = loaded
    finals = set()
    for seed in range(8):
        c = Constraints(bars=4, key="C major", cadence=False)
        g = generate(model, tok, constraints=c, settings=SampleSettings(seed=seed, temperature=1.5))
        notes = _notes(g.score)
        finals |= {n.pitch % 12 for n in notes if n.time == notes[-1].time}
    assert not finals <= tonic_triad("C major")


def test_phrase_ends_prefer_tonic_and_dominant_pitches(loaded):
    model, tok = loaded
    preferred = tonic_triad("C major") | dominant_triad("C major")

    def share(bonus: float) -> float:
        hits = total = 0
        for seed in range(4):
            c = Constraints(bars=16, key="C major")
            s = SampleSettings(seed=seed, temperature=1.5, cadence_bonus=bonus)
            g = generate(model, tok, constraints=c, settings=s)
            bar = 4 * g.score.ticks_per_quarter
            for phrase_end in (3, 7, 11):  # the last bar (15) has the hard cadence
                lo, hi = phrase_end * bar + bar // 2, (phrase_end + 1) * bar
                pcs = [n.pitch % 12 for n in _notes(g.score) if lo <= n.time < hi]
                hits += sum(pc in preferred for pc in pcs)
                total += len(pcs)
        return hits / max(total, 1)

    assert share(3.0) > share(0.0) + 0.1


def _score_of_bars(bars: list[list[int]]) -> symusic.Score:
    """A 4/4 piece whose bar i plays ``bars[i]``'s pitches one after another in quarters."""
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track(program=0, is_drum=False)
    for i, pitches in enumerate(bars):
        for j, pitch in enumerate(pitches):
            track.notes.append(symusic.Note(i * 1920 + j * 480, 480, pitch, 80))
    score.tracks.append(track)
    return score


def test_a_piece_s_form_letters_the_bars_it_repeats():
    a, b, c = [60, 62, 64, 65], [67, 65, 64, 62], [72, 71, 69, 67]
    almost_a = [60, 62, 64, 67]  # three of four notes alike: 3/5 overlap, at the threshold
    assert piece_form(_score_of_bars([a, b, a, b, c, almost_a])) == "ABABCA"
    assert piece_form(_score_of_bars([a, b, c])) == "ABC"
    assert piece_form(symusic.Score(480)) == ""


def test_a_plan_from_a_piece_replays_its_repeats_but_not_the_last_bar():
    plan = plan_form(8, "ABABCDAB")
    assert plan.form == "AB"  # the two phrases differ (ABAB, CDAB)
    assert plan.replays() == {2: (0, 2), 6: (0, 1)}  # the last bar (B) is written afresh
    assert plan_form(8, "ABCDEFGH").replays() == {}
    assert plan_form(8, "AB" * 4).form == "AA"


def test_past_a_short_pieces_end_its_form_begins_again_with_new_bars():
    # rounds of "AAB": each re-plays its own first bar, never an earlier round's; the last
    # bar is fresh
    assert plan_form(12, "AAB").replays() == {1: (0, 1), 4: (3, 1), 7: (6, 1), 10: (9, 1)}
    long_piece = "AB" + "".join(chr(ord("C") + i % 20) for i in range(FORM_BARS - 2))
    # a piece of FORM_BARS bars or more may go on: bars past them are fresh, not a new round
    assert max(plan_form(FORM_BARS + 8, long_piece).replays()) < FORM_BARS


def test_a_song_modelled_on_a_piece_repeats_its_bars_where_the_piece_does(loaded):
    model, tok = loaded
    settings = SampleSettings(seed=0, form_source="ABACABAD")
    g = generate(model, tok, constraints=Constraints(bars=8), settings=settings)
    bars = _bars(g.ids, tok["Bar_None"])
    assert len(bars) == 8
    assert bars[2] == bars[0] and bars[4] == bars[0] and bars[6] == bars[0]
    assert bars[5] == bars[1]
    assert len({tuple(bars[i]) for i in (1, 3, 7)}) == 3  # B, C and D are new material


def test_a_replayed_note_never_holds_over_the_final_chord(loaded):
    """A re-played bar's long note is cut, as a sampled one would be, so that the final chord
    sounds alone: the masker fits a forced Duration to the cadence."""
    _, tok = loaded
    masker = ConstraintMasker(tok, Constraints(bars=2, key="C major"), "4/4")
    for name in ("Bar_None", "TimeSig_4/4", "Bar_None", "TimeSig_4/4", "Position_0", "Pitch_67"):
        masker.observe(tok[name])
    longest = max(masker.dur_len, key=masker.dur_len.__getitem__)  # past the piece's end
    fitted = masker.fit(longest)
    assert fitted != longest
    assert masker.dur_len[fitted] <= masker.bar_len // 2  # ends by the last bar's midpoint
    assert masker.fit(tok["Pitch_60"]) == tok["Pitch_60"]  # only durations are fitted
