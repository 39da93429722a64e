"""Songs on a tune over chords keep that texture: the model writes the tune, chords follow."""

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import symusic

from generator.ml.accompaniment import Accompaniment, accompany, split_accompanied
from generator.ml.checkpoint import load_checkpoint
from generator.ml.compose import compose, spec_from_file
from generator.ml.constraints import scale_pitch_classes
from generator.ml.tokenizer import decode_ids

SHIPPED = Path(__file__).resolve().parents[3] / "generator" / "checkpoints" / "demo"
TPQ = 480
BAR = 4 * TPQ
TUNE = [67, 71, 74, 71, 72, 69, 65, 69, 67, 71, 74, 71, 72, 71, 69, 67]  # a bar of G, of F...


def _tune_over_chords(bars: int = 8, dominant=(43, 47, 50)) -> symusic.Score:
    """A flute tune in quarters over piano chords on beats 1 and 3: C, then ``dominant`` (G)."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, 120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    flute, piano = symusic.Track(program=73), symusic.Track(program=0)
    for i in range(bars * 4):
        flute.notes.append(symusic.Note(i * TPQ, TPQ, TUNE[i % len(TUNE)], 90))
    for half in range(bars * 2):
        for pitch in ((48, 52, 55), dominant)[half % 2]:
            piano.notes.append(symusic.Note(half * 2 * TPQ, 2 * TPQ, pitch, 70))
    score.tracks.extend([flute, piano])
    return score


def test_a_tune_over_chords_is_split_into_the_tune_and_how_it_is_accompanied():
    tune, acc = split_accompanied(_tune_over_chords())
    assert [t.program for t in tune.tracks] == [73]
    assert acc == Accompaniment(
        program=0,
        pattern=(0.0, 2.0),
        size=3,
        low=46,
        chords=((0, 4, 7), (7, 2, 11)),  # C, then G: pitch classes, the bass first
        shares=(0.5, 0.5),
        moves=((0.5 / 9, 8.5 / 9), (7.5 / 8, 0.5 / 8)),  # C moves to G, G back to C
        basses=(48, *[-1] * 6, 43, *[-1] * 4),  # its C bass at C3, its G below it at G2
    )


def test_voices_and_lone_lines_are_not_an_accompaniment():
    choir = symusic.Score(TPQ)
    for base in (72, 64, 57, 48):  # four one-line parts, as a chorale
        part = symusic.Track(program=52)
        part.notes.extend(symusic.Note(i * TPQ, TPQ, base + i % 3, 80) for i in range(16))
        choir.tracks.append(part)
    assert split_accompanied(choir) == (choir, None)
    lone = symusic.Score(TPQ)
    lone.tracks.append(choir.tracks[0].copy())
    assert split_accompanied(lone)[1] is None


def test_chords_follow_the_rhythm_hold_the_tune_and_end_on_the_tonic():
    tune, acc = split_accompanied(_tune_over_chords(bars=4))
    assert acc is not None
    song = accompany(tune, "C major", acc)
    chords = song.tracks[-1]
    assert chords.program == 0 and len(song.tracks) == 2
    onsets: dict[int, set[int]] = {}
    for note in chords.notes:
        onsets.setdefault(note.time, set()).add(note.pitch)
    assert sorted(onsets) == [h * 2 * TPQ for h in range(8)]  # beats 1 and 3 of every bar
    scale = scale_pitch_classes("C major")
    for pitches in onsets.values():
        assert len(pitches) == 3 and {p % 12 for p in pitches} <= scale
        assert 40 <= min(pitches) <= 52  # in the piece's register
    first = [_chords_by_onset(accompany(tune, "C major", acc, seed))[0] for seed in range(40)]
    assert sum(set(c) == {7, 11, 2} for c in first) > 0.6 * 40  # G B D in the tune: mostly G
    assert {p % 12 for p in onsets[max(onsets)]} == {0, 4, 7}  # the last chord: the tonic
    assert accompany(tune, None, acc) is tune  # no key to harmonise in: no chords


def test_songs_play_the_pieces_own_chords_its_sevenths_too():
    g7 = (43, 47, 50, 53)
    tune, acc = split_accompanied(_tune_over_chords(bars=8, dominant=g7))
    assert acc is not None and acc.size == 4
    song = accompany(tune, "C major", acc)
    onsets: dict[int, set[int]] = {}
    for note in song.tracks[-1].notes:
        onsets.setdefault(note.time, set()).add(note.pitch % 12)
    assert set(map(frozenset, onsets.values())) == {frozenset({0, 4, 7}), frozenset({7, 11, 2, 5})}
    first = [_chords_by_onset(accompany(tune, "C major", acc, seed))[0] for seed in range(40)]
    assert sum(set(c) == {7, 11, 2, 5} for c in first) > 0.6 * 40  # G B D: mostly the piece's G7


def test_a_seventh_sounds_all_four_notes_over_three_note_triads():
    tune, _ = split_accompanied(_tune_over_chords(bars=4))
    acc = Accompaniment(0, (0.0, 2.0), 3, 46, ((0, 4, 7), (7, 11, 2, 5)), (0.7, 0.3))
    song = accompany(tune, "C major", acc)  # a piece's triads in three notes, its G7 in four
    sizes = {frozenset(p % 12 for p in ps): len(ps) for ps in _pitches_by_onset(song).values()}
    assert sizes == {frozenset({0, 4, 7}): 3, frozenset({7, 11, 2, 5}): 4}


def test_the_chords_move_as_the_piece_moves_where_the_tune_cannot_tell():
    drone = symusic.Score(TPQ)  # a tune on G alone: a C chord holds it as well as a G chord
    drone.tracks.append(symusic.Track(program=73))
    drone.tracks[0].notes.extend(symusic.Note(i * TPQ, TPQ, 67, 90) for i in range(16))
    swing = ((0.1, 0.9), (0.9, 0.1))  # the piece goes from C to G and back, half-bar by half-bar
    acc = Accompaniment(0, (0.0, 2.0), 3, 46, ((0, 4, 7), (7, 11, 2)), (0.5, 0.5), swing)
    paths = [
        [c[0] for c in _chords_by_onset(accompany(drone, "C major", acc, s))] for s in range(40)
    ]
    assert all(path[-1] == 0 for path in paths)  # into the tonic at the end
    swings = [a != b for path in paths for a, b in pairwise(path)]
    assert sum(swings) / len(swings) > 0.8  # the piece swings at every move (90 %), the songs too
    still = _chords_by_onset(accompany(drone, "C major", replace(acc, moves=())))
    assert len(set(still[:-1])) == 1  # without the moves, each span alone: the same chord


def test_a_progression_is_drawn_not_the_likeliest_so_it_varies_as_the_piece_does():
    drone = symusic.Score(TPQ)  # a tune on G alone: a C chord holds it as well as a G chord
    drone.tracks.append(symusic.Track(program=73))
    drone.tracks[0].notes.extend(symusic.Note(i * TPQ, TPQ, 67, 90) for i in range(16))
    free = ((0.5, 0.5), (0.5, 0.5))  # the piece plays each chord after either, alike
    acc = Accompaniment(0, (0.0, 2.0), 3, 46, ((0, 4, 7), (7, 11, 2)), (0.5, 0.5), free)
    songs = [_chords_by_onset(accompany(drone, "C major", acc, seed))[:-1] for seed in range(20)]
    share_of_c = sum(c[0] == 0 for song in songs for c in song) / sum(map(len, songs))
    assert 0.3 < share_of_c < 0.7  # the likeliest path would sit on one chord all through
    assert songs[3] == _chords_by_onset(accompany(drone, "C major", acc, 3))[:-1]  # seeded
    assert len({tuple(song) for song in songs}) > 10  # each seed its own progression


def test_a_drawn_progression_follows_the_piece_s_moves_from_chord_to_chord():
    drone = symusic.Score(TPQ)  # a tune on G alone: a C chord holds it as well as a G chord
    drone.tracks.append(symusic.Track(program=73))
    drone.tracks[0].notes.extend(symusic.Note(i * TPQ, TPQ, 67, 90) for i in range(16))
    to_g = ((0.1, 0.9), (0.1, 0.9))  # from either chord the piece moves to G (read backwards,
    # each chord would be left for either alike)
    acc = Accompaniment(0, (0.0, 2.0), 3, 46, ((0, 4, 7), (7, 11, 2)), (0.5, 0.5), to_g)
    songs = [_chords_by_onset(accompany(drone, "C major", acc, seed))[1:-1] for seed in range(20)]
    share_of_g = sum(c[0] == 7 for song in songs for c in song) / sum(map(len, songs))
    assert share_of_g > 0.8


def _chords_by_onset(song: symusic.Score) -> list[tuple[int, ...]]:
    """The accompaniment's chords in order: pitch classes, the lowest note's first."""
    onsets = _pitches_by_onset(song)
    return [tuple(p % 12 for p in sorted(onsets[t])) for t in sorted(onsets)]


def test_a_chord_s_bass_sits_where_the_piece_plays_that_note():
    tune, _ = split_accompanied(_tune_over_chords(bars=4))
    basses = [-1] * 12
    basses[0], basses[5], basses[7], basses[9] = 36, 41, 43, 45  # C2 F2 G2 A2: median near F#2
    acc = Accompaniment(0, (0.0, 2.0), 3, 42, ((0, 4, 7), (7, 11, 2)), (0.5, 0.5))

    def last_bass(a: Accompaniment) -> int:
        onsets = _pitches_by_onset(accompany(tune, "C major", a))
        return min(onsets[max(onsets)])

    assert last_bass(acc) == 48  # placed by the median alone, the tonic's bass is C3
    assert last_bass(replace(acc, basses=tuple(basses))) == 36  # the piece plays it at C2


def _pitches_by_onset(song: symusic.Score) -> dict[int, list[int]]:
    """The accompaniment's pitches at each of its onsets."""
    onsets: dict[int, list[int]] = {}
    for note in song.tracks[-1].notes:
        onsets.setdefault(note.time, []).append(note.pitch)
    return onsets


def test_a_tune_between_two_chord_onsets_gets_no_chords_and_no_error():
    short = symusic.Score(TPQ)  # one note after beat 1 of a bar that has one chord onset
    short.tracks.append(symusic.Track(program=73))
    short.tracks[0].notes.append(symusic.Note(100, 200, 67, 90))
    for acc in (
        Accompaniment(0, (0.0,), 3, 46),
        Accompaniment(0, (0.0,), 3, 46, ((0, 4, 7), (7, 11, 2)), (0.5, 0.5), ((0.5,) * 2,) * 2),
    ):
        song = accompany(short, "C major", acc)
        assert song.note_num() == 1  # the tune alone


def test_a_two_note_accompaniment_keeps_two_notes_a_chord():
    tune, _ = split_accompanied(_tune_over_chords(bars=4))
    acc = Accompaniment(0, (0.0, 2.0), 2, 46, ((0, 4, 7), (7, 11, 2, 5)), (0.7, 0.3))
    sizes = {len(ps) for ps in _pitches_by_onset(accompany(tune, "C major", acc)).values()}
    assert sizes == {2}  # bass and fifth (or the seventh's bass and third), as the piece plays


def test_after_a_pickup_the_chords_come_in_on_the_first_bar_line():
    tune, acc = split_accompanied(_tune_over_chords(bars=4))
    assert acc is not None
    pickup = tune.copy()
    pickup.tracks[0].notes = [n for n in pickup.tracks[0].notes if n.time >= 3 * TPQ]
    song = accompany(pickup, "C major", acc)
    assert min(n.time for n in song.tracks[-1].notes) == BAR  # none under the pickup's rests


def test_a_piece_with_too_few_chords_gets_the_keys_triads():
    drone = _tune_over_chords(bars=4, dominant=(48, 52, 55))  # C all through: one chord
    tune, acc = split_accompanied(drone)
    assert acc is not None and acc.chords == ()
    song = accompany(tune, "C major", acc)
    first = {n.pitch % 12 for n in song.tracks[-1].notes if n.time == 0}
    assert first == {7, 11, 2}  # the tune's G B D over the first chord: a G triad


def test_a_stored_accompaniment_reads_back_and_a_broken_one_is_none():
    acc = Accompaniment(0, (0.0, 2.0), 3, 46, chords=((0, 4, 7), (7, 2, 11)), shares=(0.6, 0.4))
    assert Accompaniment.from_dict(acc.to_dict()) == acc
    assert Accompaniment.from_dict(None) is None
    assert Accompaniment.from_dict({"program": 0, "pattern": "x"}) is None
    never = Accompaniment.from_dict({**acc.to_dict(), "shares": (1.0, 0.0)})  # a chord never heard
    assert never is not None and never.chords == ()  # the key's triads, not a log of zero
    # stored before songs had their piece's chords: the key's triads
    older = Accompaniment.from_dict({"program": 0, "pattern": [0, 2], "size": 3, "low": 46})
    assert older == Accompaniment(0, (0.0, 2.0), 3, 46)


def test_a_song_on_an_accompanied_primer_is_its_tune_style_with_chords(tmp_path):
    path = tmp_path / "tune.mid"
    _tune_over_chords().dump_midi(str(path))
    model, _, tok, _ = load_checkpoint(SHIPPED)
    spec = spec_from_file(tok, path, seconds=8, seed=0, temperature=1.0, opening_bars=0)
    assert spec.style == "irish"  # guessed from the flute, not from two parts
    assert spec.accompaniment is not None and spec.max_polyphony == 1
    song = compose(model, tok, spec).score
    assert [t.program for t in song.tracks] == [73, 0]  # the flute's tune, the piano's chords
    assert max(len({n.time for n in t.notes}) for t in song.tracks) > 1


def test_a_many_voiced_style_reads_the_whole_piece_and_gets_no_chords(tmp_path):
    path = tmp_path / "tune.mid"
    _tune_over_chords().dump_midi(str(path))
    _, _, tok, _ = load_checkpoint(SHIPPED)
    spec = spec_from_file(tok, path, seconds=8, seed=0, temperature=1.0, style="chorale")
    assert spec.accompaniment is None
    assert decode_ids(tok, spec.opening).note_num() == 8 + 4 * 3  # tune and chords, 2 bars


def test_broken_chords_are_an_accompaniment_and_their_bass_sets_the_rhythm():
    score = _tune_over_chords()
    piano = symusic.Track(program=0)
    for bar in range(8):  # each bar: C, E, G, E in quarters, the C held through the bar
        piano.notes.append(symusic.Note(bar * BAR, BAR, 48, 70))
        for beat, pitch in ((1, 52), (2, 55), (3, 52)):
            piano.notes.append(symusic.Note(bar * BAR + beat * TPQ, TPQ, pitch, 70))
    second_line = symusic.Track(program=73)  # a sparser counter-line, above the tune
    second_line.notes.extend(symusic.Note(i * BAR, BAR, 84, 80) for i in range(8))
    score.tracks = [score.tracks[0], second_line, piano]
    tune, acc = split_accompanied(score)
    assert [len(t.notes) for t in tune.tracks] == [32]  # the busiest line is the tune
    assert (acc.program, acc.pattern, acc.size, acc.low) == (0, (0.0,), 2, 48)
    assert acc.basses == (48, *[-1] * 11)  # the bass plays C at C3 and nothing else
    assert acc.chords == ()  # C in every bar: too few chords to choose from, the key's triads
