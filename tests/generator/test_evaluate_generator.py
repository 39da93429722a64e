"""``evaluate_generator --songs``: songs against held-out real pieces of their style, with the
real-vs-real anchor; and the NLL mode it had before."""

import json
import random
from io import StringIO
from pathlib import Path

import pretty_midi
import pytest
from django.core.management import CommandError, call_command

from generator.evaluation import MIN_SONGS, evaluate_songs, measure, validation_features
from generator.ml.data import split_by_identity
from generator.ml.measures import features_of_files
from tests.generator.conftest import write_piece

FEATURES = {"notes_per_second", "distinct_4grams", "clash_share", "mean_step", "polyphony"}


def _songs_folder(folder: Path, files: list[Path], style: str = "folksong") -> Path:
    """A folder as generate_songs writes it: the files and a manifest naming their style."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, source in enumerate(files, start=1):
        name = f"{i:03d}.mid"
        (folder / name).write_bytes(source.read_bytes())
        entries.append({"file": name, "style": style, "primer": source.name, "seed": i})
    (folder / "manifest.json").write_text(json.dumps(entries))
    return folder


def _noise(path: Path, seed: int) -> Path:
    """Fast chromatic clusters: nothing like the real pieces."""
    rng = random.Random(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=160)
    inst = pretty_midi.Instrument(program=0)
    for i in range(120):
        for _ in range(3):
            pitch = rng.randrange(40, 90)
            inst.notes.append(pretty_midi.Note(80, pitch, i * 0.09, i * 0.09 + 0.3))
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("real")
    for i in range(MIN_SONGS + 2):
        write_piece(folder / f"real{i:02d}.mid", seed=100 + i)
    return folder


def _evaluate(songs: Path, real: Path, tmp_path: Path) -> tuple[dict, str]:
    out, printed = tmp_path / "report.json", StringIO()
    call_command("evaluate_generator", songs=songs, real=real, out=str(out), stdout=printed)
    return json.loads(out.read_text()), printed.getvalue()


def test_songs_identical_to_the_real_pieces_overlap_fully(real_dir, tmp_path):
    songs = _songs_folder(tmp_path / "songs", sorted(real_dir.glob("*.mid")))
    report, printed = _evaluate(songs, real_dir, tmp_path)
    assert {"oa_mean", "classifier_accuracy", "oa_mean_real", "features"} <= set(report)
    assert set(report["features"]) >= FEATURES
    for name, row in report["features"].items():
        assert row["generated"] == pytest.approx(row["real"]), name
        assert row["oa"] > 0.97, name
        assert name in printed
    assert report["oa_mean"] > 0.97
    assert report["classifier_accuracy"] <= 0.7
    assert 0 < report["oa_mean_real"] <= 1


def test_songs_unlike_the_real_pieces_are_told_apart(real_dir, tmp_path):
    noise = [_noise(tmp_path / f"noise{i}.mid", seed=i) for i in range(MIN_SONGS + 2)]
    songs = _songs_folder(tmp_path / "songs", noise)
    report, _ = _evaluate(songs, real_dir, tmp_path)
    assert report["oa_mean"] < 0.6
    assert report["classifier_accuracy"] >= 0.9
    assert report["features"]["notes_per_second"]["generated"] > (
        2 * report["features"]["notes_per_second"]["real"]
    )


def test_each_style_with_enough_songs_is_reported_against_its_own_pieces(real_dir, tmp_path):
    real = features_of_files(sorted(real_dir.glob("*.mid")))
    noise = features_of_files(_noise(tmp_path / f"n{i}.mid", seed=i) for i in range(MIN_SONGS))
    report = evaluate_songs(
        {"folksong": real[:MIN_SONGS], "chorale": noise, "fiddle": real[:3]},
        {"folksong": real, "chorale": real, "quartet": real},
    )
    assert set(report["styles"]) == {"folksong", "chorale"}  # fiddle: too few songs
    assert report["styles"]["folksong"]["oa_mean"] > report["styles"]["chorale"]["oa_mean"]
    assert report["songs"] == 2 * MIN_SONGS  # fiddle has no real pieces to be held against
    assert report["songs_without_real"] == 3


def test_songs_like_their_styles_real_pieces_score_so_whatever_the_real_mix(real_dir, tmp_path):
    real = features_of_files(sorted(real_dir.glob("*.mid")))
    noise = features_of_files(_noise(tmp_path / f"n{i}.mid", seed=i) for i in range(40))
    songs = {"folksong": real[:MIN_SONGS], "chorale": noise[:MIN_SONGS]}
    held_out = {"folksong": real, "chorale": noise}  # 12 folk songs, 40 clusters
    report = evaluate_songs(songs, held_out)
    assert report["real_pieces"] == 2 * len(real)  # as many of each style as among the songs
    unmixed = measure(real[:MIN_SONGS] + noise[:MIN_SONGS], real + noise)
    assert report["oa_mean"] > unmixed["oa_mean"] + 0.05
    assert report["classifier_accuracy"] < 0.75


def test_the_default_real_set_is_the_validation_split_never_the_test(real_dir):
    files = sorted(real_dir.glob("*.mid"))
    pieces = [(files[i % len(files)], "folksong", f"music21:piece{i}") for i in range(80)]
    split = split_by_identity([p[2] for p in pieces], val_fraction=0.1, test_fraction=0.1)
    by_style = validation_features(pieces)
    assert len(by_style["folksong"]) == len(split["val"]) > 0


def test_a_folder_without_a_manifest_is_an_error_saying_so(real_dir, tmp_path):
    with pytest.raises(CommandError, match=r"manifest\.json"):
        call_command("evaluate_generator", songs=tmp_path, real=real_dir)


def test_neither_mode_is_an_error_naming_both(tmp_path):
    with pytest.raises(CommandError, match="--songs"):
        call_command("evaluate_generator")


def test_the_nll_mode_still_scores_a_checkpoint(tiny_checkpoint, midi_dir, tmp_path):
    out = tmp_path / "nll.json"
    call_command(
        "evaluate_generator",
        "--checkpoint",
        str(tiny_checkpoint),
        "--midi",
        str(midi_dir),
        "--out",
        str(out),
        stdout=StringIO(),
    )
    result = json.loads(out.read_text())
    assert result["files"] == 12 and result["test_nll"] > 0


def test_by_default_the_songs_meet_the_catalogs_validation_pieces(catalog_track, tmp_path):
    idents = [f"music21:tune{i}" for i in range(200)]
    split = split_by_identity(idents, val_fraction=0.1, test_fraction=0.1)
    chosen = [idents[i] for i in split["val"][:5] + split["test"][:3]]
    tracks = [catalog_track(seed=40 + i, source=ident) for i, ident in enumerate(chosen)]
    files = [Path(t.midi_file.path) for t in tracks]
    songs = _songs_folder(tmp_path / "songs", files * 2, style="folksong")
    out = tmp_path / "report.json"
    call_command("evaluate_generator", songs=songs, out=str(out), stdout=StringIO())
    report = json.loads(out.read_text())
    assert report["real_pieces"] == 5  # the validation pieces; the test pieces are never read
    assert report["songs"] == 16 and set(report["styles"]) == {"folksong"}
