import numpy as np
import pytest
import symusic

from generator.ml.measures import (
    classifier_accuracy,
    compare,
    features_of_files,
    overlap_area,
    piece_features,
    real_vs_real,
)

TPQ = 480


def _score(notes: list[tuple[int, int, int]], drum: bool = False) -> symusic.Score:
    """A one-track score from (onset, duration, pitch) in ticks, 480 a quarter (120 BPM)."""
    score = symusic.Score(TPQ)
    track = symusic.Track(program=0, is_drum=drum)
    for time, duration, pitch in notes:
        track.notes.append(symusic.Note(time, duration, pitch, 80))
    score.tracks.append(track)
    return score


def _melody(pitches: list[int], step: int = TPQ // 2) -> symusic.Score:
    return _score([(i * step, step, p) for i, p in enumerate(pitches)])


def test_a_repeated_motif_repeats_its_4grams_and_random_notes_do_not():
    motif = piece_features(_melody([60, 62, 64, 67] * 20))
    rng = np.random.default_rng(0)
    random = piece_features(_melody(rng.integers(48, 84, 80).tolist()))
    assert motif is not None and random is not None
    assert motif["distinct_4grams"] < 0.1
    assert random["distinct_4grams"] > 0.95


def test_a_semitone_chord_clashes_and_a_triad_does_not():
    clash = piece_features(_score([(0, TPQ, 60), (0, TPQ, 61)]))
    triad = piece_features(_score([(0, TPQ, 60), (0, TPQ, 64), (0, TPQ, 67)]))
    ninth = piece_features(_score([(0, TPQ, 60), (0, TPQ, 73), (0, TPQ, 67)]))  # C, C#', G
    assert clash is not None and triad is not None and ninth is not None
    assert clash["clash_share"] == 1.0
    assert triad["clash_share"] == 0.0
    assert ninth["clash_share"] == pytest.approx(1 / 3)
    assert triad["polyphony"] == 3.0


def test_notes_that_only_touch_do_not_sound_together():
    legato = piece_features(_melody([60, 61, 62, 63]))
    assert legato is not None
    assert legato["clash_share"] == 0.0
    assert legato["polyphony"] == 1.0


def test_timing_and_pitch_features_of_a_scale():
    # C major up an octave in eighth notes at 120 BPM: 0.25 s each
    features = piece_features(_melody([60, 62, 64, 65, 67, 69, 71, 72]))
    assert features is not None
    assert features["notes_per_second"] == pytest.approx(4.0)
    assert features["ioi"] == pytest.approx(0.25)
    assert features["note_length"] == pytest.approx(0.25)
    assert features["mean_step"] == pytest.approx(12 / 7)
    assert features["pitch_range"] == 12
    assert features["in_scale_share"] == 1.0
    assert features["pitch_class_entropy"] == pytest.approx(
        -(6 / 8 * np.log2(1 / 8) + 2 / 8 * np.log2(2 / 8))
    )


def test_the_top_voice_is_the_highest_note_of_each_onset():
    # a melody a third above a held bass: its steps are the melody's, not the bass's
    notes = [(0, 4 * TPQ, 36)] + [(i * TPQ, TPQ, p) for i, p in enumerate([64, 65, 67, 69])]
    features = piece_features(_score(notes))
    assert features is not None
    assert features["mean_step"] == pytest.approx(5 / 3)


def test_a_piece_without_pitched_notes_has_no_features():
    assert piece_features(symusic.Score(TPQ)) is None
    assert piece_features(_score([(0, TPQ, 36), (TPQ, TPQ, 38)], drum=True)) is None


def test_overlap_of_a_sample_with_itself_is_one_and_of_far_samples_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 200)
    assert overlap_area(a, a) == pytest.approx(1.0, abs=1e-6)
    assert overlap_area(a, a + 10) < 0.05
    assert overlap_area(a, rng.normal(0, 1, 200)) > 0.85


def test_overlap_of_constant_samples_is_finite():
    assert overlap_area([1.0] * 10, [1.0] * 10) == 1.0
    assert overlap_area([0.0] * 10, [5.0] * 10) < 0.01
    assert 0.0 <= overlap_area([0.0] * 10, np.linspace(-1, 1, 10)) <= 1.0


def _rows(n: int, shift: float, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [{"a": rng.normal(shift, 1), "b": rng.normal(0, 1)} for _ in range(n)]


def test_the_classifier_tells_different_sets_apart_and_not_like_ones():
    assert classifier_accuracy(_rows(60, 4.0, 1), _rows(80, 0.0, 2)) > 0.9
    assert classifier_accuracy(_rows(60, 0.0, 3), _rows(80, 0.0, 4)) < 0.7


def test_compare_reports_means_and_overlap_per_feature():
    result = compare(_rows(50, 4.0, 1), _rows(50, 0.0, 2))
    assert set(result["features"]) == {"a", "b"}
    assert result["features"]["a"]["generated"] == pytest.approx(4.0, abs=0.5)
    assert result["features"]["a"]["oa"] < 0.2 < result["features"]["b"]["oa"]
    assert result["oa_mean"] == pytest.approx(
        (result["features"]["a"]["oa"] + result["features"]["b"]["oa"]) / 2
    )


def test_two_halves_of_one_set_look_alike():
    result = real_vs_real(_rows(120, 0.0, 5))
    assert result["oa_mean"] > 0.8
    assert result["classifier_accuracy"] < 0.7


def test_features_of_files_skips_unreadable_and_empty_files(tmp_path):
    good, empty, bad = tmp_path / "good.mid", tmp_path / "empty.mid", tmp_path / "bad.mid"
    _melody([60, 62, 64, 65]).dump_midi(str(good))
    symusic.Score(TPQ).dump_midi(str(empty))
    bad.write_bytes(b"not a midi file")
    rows = features_of_files([good, empty, bad, tmp_path / "missing.mid"])
    assert len(rows) == 1
    assert rows[0]["pitch_range"] == 5


def test_features_of_a_files_opening_read_only_its_first_seconds(tmp_path):
    path = tmp_path / "climb.mid"
    _melody(list(range(60, 84))).dump_midi(str(path))  # 24 eighths at 120 BPM: 6 s, 23 semitones
    (whole,) = features_of_files([path])
    (first,) = features_of_files([path], seconds=2.0)  # the first 8 eighths
    assert whole["pitch_range"] == 23
    assert first["pitch_range"] == 7
    assert first["notes_per_second"] == pytest.approx(whole["notes_per_second"], rel=0.01)
