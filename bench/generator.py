"""Benchmark of the "make me a song" generator (run with ``make bench-generator``).

Prints, beside the issue's goals and anchors: sampling tokens/s with and without the KV cache;
click-to-playable time (compose a song in a real style, write MIDI, render audio and piano roll)
for a 30-second and a 2-minute song; how close songs written the way the site writes them are to
held-out real pieces of their style (per-feature OA, Yang & Lerch 2020; a real-vs-generated
classifier; the real-vs-real anchor), and songs on Nottingham and POP909 pieces (music it never
saw, as ``generate_songs --primer-dir`` writes them) to other pieces of the same set; the
checkpoint's own validation NLL; per-token NLL on Nottingham and POP909 MIDI; the piano-roll
frame NLL on JSB Chorales and Nottingham (TCN 8.10/3.07, RNN-NADE 5.56/2.31, LSTM 8.45/3.29).
Writes bench/results/generator.json, and the songs with their manifest under
bench/results/generator-songs/ (and unseen-nottingham/, unseen-pop909/).

The songs: for each of BENCH_SONGS, a random validation-split piece (of each style in turn) of
the converted music21 corpus (``MODEL_ROOT/generator-corpus``, which ``manage.py train_generator
--music21`` writes) is the loved piece, and the song takes its style, key, tempo, metre and form
(the model reads its first two bars before it writes), as ``generate_songs`` does
(``generator.ml.compose.spec_from_file`` and ``write_song``, which ``generator.songs`` calls);
the real set is the validation split's pieces of the same styles.
No Django, no database.

Environment (defaults finish in about 10 minutes on two busy cores with the 0.9 M checkpoint):
BENCH_CHECKPOINT (default generator/checkpoints/demo), BENCH_CORPUS_DIR, BENCH_SONGS (192; 0
skips the music measures), BENCH_STYLES (irish,fiddle,folksong,chorale: the songs' styles in
turn), BENCH_SONG_SECONDS (30), BENCH_REAL_PIECES (validation pieces compared per style, 400),
BENCH_CLICK_RUNS (7 for 30 s, 0 skips), BENCH_CLICK_RUNS_120 (3, 0 skips), BENCH_SPEED (1; 0
skips tokens/s), BENCH_NLL_FILES (held-out pieces scored per corpus, 100; 0 skips),
BENCH_CORPUS_BUDGET (seconds of fine-tuning per corpus before scoring again, 60; 0 skips it),
BENCH_UNSEEN_SONGS (songs on Nottingham and on POP909 pieces, 48 each; 0 skips),
BENCH_UNSEEN_SPLIT (test; val primes them with validation pieces, to choose a setting on),
BENCH_PIANOROLL (1; 0 skips), BENCH_PIANOROLL_BUDGET (seconds per piano-roll training, 120),
BENCH_PIANOROLL_FRESH=1 to retrain even when bench/results/pianoroll_*.json exist (``manage.py
evaluate_pianoroll --out``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODEL_ROOT = Path(os.environ.get("MODEL_ROOT", ROOT / "var" / "models"))  # as the settings say

from catalog.rendering import render_media  # noqa: E402
from generator.corpus import read_manifest  # noqa: E402
from generator.evaluation import (  # noqa: E402
    evaluate_songs,
    feature_table,
    features_of_files,
    format_report,
    songs_features,
    validation_features,
)
from generator.ml.checkpoint import load_checkpoint, read_meta  # noqa: E402
from generator.ml.compose import SongSpec, compose, spec_from_file, write_song  # noqa: E402
from generator.ml.config import ModelConfig, TrainConfig  # noqa: E402
from generator.ml.constraints import Constraints  # noqa: E402
from generator.ml.data import (  # noqa: E402
    evaluate_nll,
    split_by_identity,
    split_by_piece,
    tokenize_files,
)
from generator.ml.sample import SampleSettings, bars_for_seconds, generate  # noqa: E402
from generator.ml.tokenizer import control_ids, find_midi_files  # noqa: E402
from generator.ml.train import fit  # noqa: E402

# The demo catalog's styles with at least 50 pieces (O'Neill's, Ryan's, Essen, Bach).
DEMO_STYLES = ("irish", "fiddle", "folksong", "chorale")
logger = logging.getLogger("bench.generator")
DATA = ROOT.parent / "shared" / "data" / "midi"
RESULTS = ROOT / "bench" / "results"
ANCHORS = {
    "JSB_Chorales": {"TCN": 8.10, "RNN-NADE": 5.56, "LSTM": 8.45},
    "Nottingham": {"TCN": 3.07, "RNN-NADE": 2.31, "LSTM": 3.29},
}
GOAL_P50_30, GOAL_P50_120, GOAL_OA, GOAL_ACCURACY = 5.0, 15.0, 0.85, 0.65
SHARED_SETS = (  # never trained on: (name, archive, its pieces' paths)
    ("nottingham", DATA / "nottingham" / "nottingham-midi.tar.gz", r"^MIDI/[^/]+\.mid$"),
    ("pop909", DATA / "pop909" / "pop909.tar.gz", r"^POP909/(\d+)/\1\.mid$"),
)
TEMPERATURE = 0.95  # generate_songs' (the middle of personalization.TEMPERATURE_ARMS)
# the ensembles the click-to-playable songs alternate between: four voices, then a fiddle
CLICK_SPECS = (
    SongSpec(style="chorale", key="G major", tempo_bpm=76.0, time_signature="4/4"),
    SongSpec(style="fiddle", key="D major", tempo_bpm=120.0, time_signature="4/4"),
)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def sampling_speed(model, tok) -> dict:
    out = {}
    for cache in (True, False):
        settings = SampleSettings(seed=0, use_cache=cache, max_tokens=600 if cache else 300)
        constraints = Constraints(
            bars=bars_for_seconds(60, 100.0), tempo_bpm=100.0, time_signature="4/4"
        )
        g = generate(model, tok, constraints=constraints, settings=settings)
        out["tokens_per_s_kv" if cache else "tokens_per_s_no_kv"] = g.tokens_sampled / g.seconds
        print(
            f"sampling {'with' if cache else 'without'} KV cache: "
            f"{g.tokens_sampled / g.seconds:.1f} tokens/s ({g.tokens_sampled} tokens)"
        )
    return out


def click_to_playable(model, tok, seconds: float, runs: int) -> list[float]:
    """Seconds from the click to a playable song: compose (chorale and fiddle in turn), write
    MIDI, render the audio and the piano roll, as the worker does."""
    times = []
    for seed in range(runs):
        spec = replace(CLICK_SPECS[seed % 2], seconds=seconds, seed=seed, temperature=0.95)
        start = time.perf_counter()
        song = compose(model, tok, spec)
        media = render_media(bytes(song.score.dumps_midi()))
        times.append(time.perf_counter() - start)
        if media.audio_seconds < 0.6 * seconds:
            raise RuntimeError(f"a {seconds:.0f}-s song rendered {media.audio_seconds:.1f} s")
    return times


def click_section(model, tok) -> dict:
    out: dict = {}
    for seconds, runs, goal, suffix in (
        (30.0, env_int("BENCH_CLICK_RUNS", 7), GOAL_P50_30, ""),
        (120.0, env_int("BENCH_CLICK_RUNS_120", 3), GOAL_P50_120, "_120"),
    ):
        if runs < 1:
            continue
        times = click_to_playable(model, tok, seconds, runs)
        p50 = statistics.median(times)
        out[f"click_to_playable_p50_s{suffix}"] = p50
        out[f"click_to_playable_max_s{suffix}"] = max(times)
        print(
            f"click-to-playable, {seconds:.0f}-s song (chorale / fiddle; compose + MIDI + Ogg + "
            f"piano roll), {runs} runs: p50 {p50:.2f} s, max {max(times):.2f} s   "
            f"(goal: p50 <= {goal:.0f} s)"
        )
    return out


def corpus_folder() -> Path | None:
    """The converted music21 corpus: BENCH_CORPUS_DIR, else MODEL_ROOT/generator-corpus; None
    when neither has a manifest."""
    candidates = [os.environ.get("BENCH_CORPUS_DIR"), MODEL_ROOT / "generator-corpus"]
    for folder in candidates:
        if folder and (Path(folder) / "manifest.jsonl").is_file():
            return Path(folder)
    return None


def music_measures(model, tok, folder: Path, count: int) -> dict:
    """Songs modelled on random validation pieces, taken in turn from each of BENCH_STYLES (by
    default the styles with at least 50 demo-catalog pieces), against the validation pieces
    of their styles (at most BENCH_REAL_PIECES of each, in hash order: a fair spread)."""
    seconds = env_float("BENCH_SONG_SECONDS", 30)
    entries = read_manifest(folder)
    pieces = [(folder / e["path"], e["style"], e["ident"]) for e in entries]
    val = split_by_identity([p[2] for p in pieces], val_fraction=0.1, test_fraction=0.1)["val"]
    rng = random.Random(0)
    out_dir = RESULTS / "generator-songs"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    styles = os.environ.get("BENCH_STYLES", ",".join(DEMO_STYLES)).split(",")
    by_style = {st: [i for i in val if pieces[i][1] == st] for st in styles}
    loved = [rng.choice(by_style[styles[n % len(styles)]]) for n in range(count)]
    manifest, failed = [], 0
    for number, index in enumerate(loved, start=1):
        path, style, ident = pieces[index]
        seed = rng.randrange(2**31)
        try:
            spec = spec_from_file(
                tok,
                path,
                seconds=seconds,
                seed=seed,
                temperature=TEMPERATURE,
                style=style,
                opening_bars=0,  # as the site writes a song for a loved piece: no opening
            )
            entry = write_song(model, tok, spec, out_dir / f"{number:03d}.mid")
        except (ValueError, RuntimeError) as exc:
            failed += 1
            logger.warning("no song from %s: %s", ident, exc)
            continue
        manifest.append({"file": entry.pop("file"), "loved": {"ident": ident}, **entry})
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    songs = songs_features(out_dir)
    cap, taken = env_int("BENCH_REAL_PIECES", 400), dict.fromkeys(songs, 0)
    real_pieces = []
    for i in val:
        if pieces[i][1] in taken and taken[pieces[i][1]] < cap:
            taken[pieces[i][1]] += 1
            real_pieces.append(pieces[i])
    report = evaluate_songs(songs, validation_features(real_pieces, seconds))
    whole = evaluate_songs(songs, validation_features(real_pieces))
    print(
        f"songs written the way the site writes them ({len(manifest)} of {count}; {failed} "
        f"failed), in {out_dir.relative_to(ROOT)}, against the real pieces' first {seconds:g} s:"
    )
    print(format_report(report))
    print(
        f"against whole real pieces: OA mean {whole['oa_mean']:.3f} (real vs real "
        f"{whole['oa_mean_real']:.3f}), classifier accuracy {whole['classifier_accuracy']:.3f}"
    )
    print(
        f"OA mean {report['oa_mean']:.3f}   (goal >= {GOAL_OA}; real vs real "
        f"{report['oa_mean_real']:.3f})\nclassifier accuracy {report['classifier_accuracy']:.3f}"
        f"   (goal <= {GOAL_ACCURACY}; real vs real {report['classifier_accuracy_real']:.3f}; "
        "0.5 = cannot tell)"
    )
    return {
        "oa_mean": report["oa_mean"],
        "oa_mean_real": report["oa_mean_real"],
        "classifier_accuracy": report["classifier_accuracy"],
        "classifier_accuracy_real": report["classifier_accuracy_real"],
        "real_seconds": seconds,
        "oa_mean_whole_pieces": whole["oa_mean"],
        "classifier_accuracy_whole_pieces": whole["classifier_accuracy"],
        "oa_by_style": {st: r["oa_mean"] for st, r in report.get("styles", {}).items()},
        "classifier_accuracy_by_style": {
            st: r["classifier_accuracy"] for st, r in report.get("styles", {}).items()
        },
        "songs": len(manifest),
        "songs_failed": failed,
        "measures": report,
    }


@contextmanager
def archive_split(name: str, archive: Path, pattern: str) -> Iterator[dict[str, list[Path]]]:
    """The archive's pieces (paths matching ``pattern``), extracted to a temporary folder for
    the ``with`` block and split by piece (80/10/10, seed 0)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and re.search(pattern, m.name)]
            tar.extractall(tmp, members=members, filter="data")
        yield split_by_piece(find_midi_files([tmp]), val_fraction=0.1, test_fraction=0.1, seed=0)


def corpus_nll(model, config, tok, name: str, archive: Path, pattern: str, n: int) -> dict:
    """Validation NLL on held-out pieces of a corpus (archive paths matching ``pattern``):
    the shipped checkpoint as it is, then after fine-tuning on that corpus's training pieces
    for BENCH_CORPUS_BUDGET seconds (same split by piece, seed 0).
    """
    budget = env_float("BENCH_CORPUS_BUDGET", 60)
    with archive_split(name, archive, pattern) as split:
        val = tokenize_files(tok, split["val"][:n])
        cpu = torch.device("cpu")
        header = control_ids(tok)
        zero, count = evaluate_nll(model, val, max_len=config.max_len, device=cpu, header=header)
        out = {
            f"nll_{name}_shipped": zero,
            f"nll_{name}_tokens": count,
            f"nll_{name}_val_pieces": len(val),
        }
        line = (
            f"{name}: validation NLL {zero:.3f} nats/token with the shipped checkpoint "
            f"({len(val)} held-out pieces, {count} tokens)"
        )
        if budget > 0:
            train = tokenize_files(tok, split["train"])
            tc = TrainConfig(time_budget_s=budget, lr=5e-4, eval_every=10**9, device="cpu")
            cfg = ModelConfig(**config.to_dict())
            with tempfile.TemporaryDirectory() as ckpt:
                tuned, _, _ = fit(
                    model_config=cfg,
                    train_config=tc,
                    tokenizer=tok,
                    train_seqs=train,
                    val_seqs=val,
                    out_dir=ckpt,
                    init_weights=model.state_dict(),
                    progress=False,
                )
            after, _ = evaluate_nll(tuned, val, max_len=config.max_len, device=cpu, header=header)
            out[f"nll_{name}"] = after
            line += f"; {after:.3f} after {budget:.0f} s fine-tuning on its training pieces"
        else:
            out[f"nll_{name}"] = zero
    print(line)
    return out


def unseen_measures(model, tok, name: str, archive: Path, pattern: str, count: int) -> dict:
    """Songs on music the model never saw, judged as the corpus songs are: ``count`` pieces of
    the archive (the BENCH_UNSEEN_SPLIT split of ``split_by_piece``, seed 0: ``test``, or
    ``val`` to choose a setting) are primers, each song written as ``generate_songs
    --primer-dir`` writes it (its primer's opening, then new bars; chords when the primer is a
    tune over chords), against up to BENCH_REAL_PIECES of the pieces of the splits before it
    (their first BENCH_SONG_SECONDS seconds)."""
    part = os.environ.get("BENCH_UNSEEN_SPLIT", "test")
    if part not in ("val", "test"):
        raise SystemExit(f"BENCH_UNSEEN_SPLIT: val or test, not {part!r}")
    seconds = env_float("BENCH_SONG_SECONDS", 30)
    out_dir = RESULTS / f"unseen-{name}"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    rng = random.Random(0)
    with archive_split(name, archive, pattern) as split:
        manifest = []
        for number, primer in enumerate(split[part][:count], start=1):
            try:
                spec = spec_from_file(
                    tok,
                    primer,
                    seconds=seconds,
                    seed=rng.randrange(2**31),
                    temperature=TEMPERATURE,
                    model=model,
                )
                entry = write_song(model, tok, spec, out_dir / f"{number:03d}.mid")
            except (ValueError, RuntimeError) as exc:
                logger.warning("no song from %s: %s", primer.name, exc)
                continue
            manifest.append({"file": entry.pop("file"), "primer": primer.name, **entry})
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
        cap = env_int("BENCH_REAL_PIECES", 400)
        others = [*split["train"], *(split["val"] if part == "test" else [])]
        real = features_of_files(others[:cap], seconds)
    report = evaluate_songs(songs_features(out_dir), real)
    chords = sum(1 for e in manifest if len(set(e["instruments"])) > 1)
    print(
        f"{name} (never seen): {len(manifest)} songs on its {part} pieces ({chords} with chords) "
        f"against {report['real_pieces']} others:\n" + "\n".join(feature_table(report)) + "\n"
        f"  OA mean {report['oa_mean']:.3f} (real vs real {report['oa_mean_real']:.3f}), "
        f"classifier accuracy {report['classifier_accuracy']:.3f} (real vs real "
        f"{report['classifier_accuracy_real']:.3f})   (goals: OA >= {GOAL_OA}, "
        f"classifier <= {GOAL_ACCURACY})"
    )
    return {
        f"oa_mean_{name}": report["oa_mean"],
        f"oa_mean_real_{name}": report["oa_mean_real"],
        f"classifier_accuracy_{name}": report["classifier_accuracy"],
        f"classifier_accuracy_real_{name}": report["classifier_accuracy_real"],
        f"unseen_songs_{name}": len(manifest),
        f"features_{name}": report["features"],
    }


def pianoroll(dataset: str, budget: float) -> dict:
    cached = RESULTS / f"pianoroll_{dataset.lower()}.json"
    if cached.is_file() and os.environ.get("BENCH_PIANOROLL_FRESH") != "1":
        result = json.loads(cached.read_text())
        source = f"from {cached.relative_to(ROOT)} (evaluate_pianoroll --out)"
    else:
        out = Path(tempfile.mkdtemp()) / "pr.json"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "evaluate_pianoroll",
                "--data",
                str(DATA / "polyphonic" / f"{dataset}.mat"),
                "--model",
                "lstm",
                "--time-budget",
                str(budget),
                "--device",
                "cpu",
                "--out",
                str(out),
            ],
            check=True,
            cwd=ROOT,
            env={"DJANGO_DEBUG": "true", **os.environ},  # a command on a dev machine's defaults
        )
        result = json.loads(out.read_text())
        source = f"trained now for {budget:.0f} s"
    a = ANCHORS[dataset]
    print(
        f"{dataset}: frame NLL {result['test_nll']:.3f} nats ({source}; "
        f"{result['train_seconds']:.0f} s training)  anchors: TCN {a['TCN']}, "
        f"RNN-NADE {a['RNN-NADE']}, LSTM {a['LSTM']}"
    )
    return {
        f"pianoroll_{dataset}": result["test_nll"],
        f"pianoroll_{dataset}_train_seconds": result["train_seconds"],
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)  # batch-1 work on a shared two-core machine
    torch.manual_seed(0)
    start = time.perf_counter()
    checkpoint = Path(
        os.environ.get("BENCH_CHECKPOINT", ROOT / "generator" / "checkpoints" / "demo")
    )
    model, config, tok, _ = load_checkpoint(checkpoint, "cpu")
    meta = read_meta(checkpoint)
    val_nll = (meta.get("metrics") or {}).get("val_nll", meta["val_loss"])
    print(
        f"checkpoint {checkpoint}: {config.arch}, step {meta['step']}, its own validation NLL "
        f"{val_nll:.3f} nats/token (the shipped demo checkpoint of issue 17: 1.852); torch "
        f"threads {torch.get_num_threads()}"
    )
    results: dict = {"val_nll": val_nll, "checkpoint": str(checkpoint)}
    if env_int("BENCH_SPEED", 1):
        results |= sampling_speed(model, tok)
    results |= click_section(model, tok)
    count = env_int("BENCH_SONGS", 192)
    folder = corpus_folder()
    if count > 0 and folder is None:
        print("music measures skipped: no converted corpus (manage.py train_generator --music21)")
    elif count > 0 and folder is not None:
        results |= music_measures(model, tok, folder, count)
    n = env_int("BENCH_NLL_FILES", 100)
    unseen = env_int("BENCH_UNSEEN_SONGS", 48)
    for name, archive, pattern in SHARED_SETS:
        if not archive.is_file():
            print(f"{name}: skipped, {archive} is not there")
            continue
        if n > 0:
            results |= corpus_nll(model, config, tok, name, archive, pattern, n)
        if unseen > 0:
            results |= unseen_measures(model, tok, name, archive, pattern, unseen)
    if env_int("BENCH_PIANOROLL", 1):
        budget = env_float("BENCH_PIANOROLL_BUDGET", 120)
        for dataset in ("JSB_Chorales", "Nottingham"):
            results |= pianoroll(dataset, budget)
    results["bench_seconds"] = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "generator.json").write_text(json.dumps(results, indent=2))
    print(f"wrote bench/results/generator.json in {results['bench_seconds']:.0f} s")


if __name__ == "__main__":
    main()
