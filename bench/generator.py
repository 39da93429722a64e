"""Benchmark of the "make me a song" generator (run with ``make bench-generator``).

Prints, beside the issue's anchors: sampling tokens/s with and without the KV cache;
click-to-playable time for a 30-second piece (sample + write MIDI + render audio); per-token NLL
of the shipped checkpoint on Nottingham and POP909 MIDI; the piano-roll frame NLL on JSB
Chorales and Nottingham (TCN 8.10/3.07, RNN-NADE 5.56/2.31, LSTM 8.45/3.29); simple musical
statistics of generated pieces beside the training data's. Writes bench/results/generator.json.

Environment: BENCH_PIANOROLL_BUDGET (seconds per piano-roll training, default 240),
BENCH_PIANOROLL_FRESH=1 to retrain even when bench/results/pianoroll_*.json exist (written by
``manage.py evaluate_pianoroll --out``), BENCH_NLL_FILES (held-out pieces scored per corpus,
default 100), BENCH_CORPUS_BUDGET (seconds of fine-tuning per corpus before scoring again,
default 120; 0 skips it).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.rendering import render_media  # noqa: E402  (pure Python, no Django)
from generator.ml.checkpoint import load_checkpoint, read_meta  # noqa: E402
from generator.ml.config import ModelConfig, TrainConfig  # noqa: E402
from generator.ml.constraints import Constraints  # noqa: E402
from generator.ml.data import evaluate_nll, split_by_piece, tokenize_files  # noqa: E402
from generator.ml.sample import SampleSettings, bars_for_seconds, generate  # noqa: E402
from generator.ml.stats import mean_stats  # noqa: E402
from generator.ml.tokenizer import find_midi_files  # noqa: E402
from generator.ml.train import fit  # noqa: E402

logger = logging.getLogger("bench.generator")
DATA = ROOT.parent / "shared" / "data" / "midi"
CHECKPOINT = ROOT / "generator" / "checkpoints" / "demo"
RESULTS = ROOT / "bench" / "results"
ANCHORS = {
    "JSB_Chorales": {"TCN": 8.10, "RNN-NADE": 5.56, "LSTM": 8.45},
    "Nottingham": {"TCN": 3.07, "RNN-NADE": 2.31, "LSTM": 3.29},
}


def piece_constraints(seconds: float = 30.0, tempo: float = 100.0) -> Constraints:
    return Constraints(
        bars=bars_for_seconds(seconds, tempo, "4/4"),
        tempo_bpm=tempo,
        time_signature="4/4",
        max_polyphony=4,
    )


def sampling_speed(model, tok) -> dict:
    out = {}
    for cache in (True, False):
        settings = SampleSettings(seed=0, use_cache=cache, max_tokens=600 if cache else 300)
        g = generate(model, tok, constraints=piece_constraints(60), settings=settings)
        out["tokens_per_s_kv" if cache else "tokens_per_s_no_kv"] = g.tokens_sampled / g.seconds
        print(
            f"sampling {'with' if cache else 'without'} KV cache: "
            f"{g.tokens_sampled / g.seconds:.1f} tokens/s ({g.tokens_sampled} tokens)"
        )
    return out


def click_to_playable(model, tok, runs: int = 7) -> tuple[dict, list]:
    times, scores = [], []
    for seed in range(runs):
        start = time.perf_counter()
        g = generate(
            model,
            tok,
            constraints=piece_constraints(30),
            settings=SampleSettings(seed=seed, temperature=0.95),
        )
        midi = bytes(g.score.dumps_midi())
        media = render_media(midi)
        times.append(time.perf_counter() - start)
        scores.append(g.score)
        assert media.audio_seconds > 20, media.audio_seconds
    p50 = statistics.median(times)
    print(
        f"click-to-playable, 30-s piece (sample + MIDI + Ogg + piano roll), {runs} runs: "
        f"p50 {p50:.2f} s, max {max(times):.2f} s   (goal: p50 <= 5 s)"
    )
    return {"click_to_playable_p50_s": p50, "click_to_playable_max_s": max(times)}, scores


def corpus_nll(model, config, tok, name: str, archive: Path, pattern: str, n: int) -> dict:
    """Validation NLL on held-out pieces of a corpus (archive paths matching ``pattern``):
    the shipped checkpoint as it is, then after fine-tuning on that corpus's training pieces
    for BENCH_CORPUS_BUDGET seconds (same split by piece, seed 0).
    """
    budget = float(os.environ.get("BENCH_CORPUS_BUDGET", "120"))
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and re.search(pattern, m.name)]
            tar.extractall(tmp, members=members, filter="data")
        files = find_midi_files([tmp])
        split = split_by_piece(files, val_fraction=0.1, test_fraction=0.1, seed=0)
        val = tokenize_files(tok, split["val"][:n])
        cpu = torch.device("cpu")
        zero, count = evaluate_nll(model, val, max_len=config.max_len, device=cpu)
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
            after, _ = evaluate_nll(tuned, val, max_len=config.max_len, device=cpu)
            out[f"nll_{name}"] = after
            line += f"; {after:.3f} after {budget:.0f} s fine-tuning on its training pieces"
        else:
            out[f"nll_{name}"] = zero
    print(line)
    return out


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


def music_stats(generated: list, train_dir: Path | None) -> dict:
    import symusic

    gen = mean_stats(generated)
    out = {"stats_generated": gen}
    line = "musical statistics (generated"
    if train_dir and train_dir.is_dir():
        files = find_midi_files([train_dir])
        random.Random(0).shuffle(files)
        ref = mean_stats([symusic.Score(str(f)) for f in files[:100]])
        out["stats_training"] = ref
        line += " | training data)"
    else:
        ref = {}
        line += ")"
    print(line + ":")
    for key, value in gen.items():
        print(f"  {key:26s} {value:8.3f}" + (f" | {ref[key]:8.3f}" if key in ref else ""))
    return out


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)  # batch-1 work on a shared two-core machine
    torch.manual_seed(0)
    start = time.perf_counter()
    model, config, tok, _ = load_checkpoint(CHECKPOINT, "cpu")
    meta = read_meta(CHECKPOINT)
    print(
        f"checkpoint {CHECKPOINT.relative_to(ROOT)}: {config.arch}, step {meta['step']}, "
        f"validation NLL {meta['val_loss']:.3f} nats/token; torch threads "
        f"{torch.get_num_threads()}"
    )
    results: dict = {"checkpoint_val_nll": meta["val_loss"]}
    results |= sampling_speed(model, tok)
    ctp, scores = click_to_playable(model, tok)
    results |= ctp
    n = int(os.environ.get("BENCH_NLL_FILES", "100"))
    results |= corpus_nll(
        model,
        config,
        tok,
        "nottingham",
        DATA / "nottingham" / "nottingham-midi.tar.gz",
        r"^MIDI/[^/]+\.mid$",
        n,
    )
    results |= corpus_nll(
        model,
        config,
        tok,
        "pop909",
        DATA / "pop909" / "pop909.tar.gz",
        r"^POP909/(\d+)/\1\.mid$",
        n,
    )
    budget = float(os.environ.get("BENCH_PIANOROLL_BUDGET", "240"))
    for dataset in ("JSB_Chorales", "Nottingham"):
        results |= pianoroll(dataset, budget)
    train_dir = Path(os.environ.get("BENCH_TRAIN_MIDI", ROOT / "var" / "media" / "midi"))
    results |= music_stats(scores, train_dir)
    results["bench_seconds"] = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "generator.json").write_text(json.dumps(results, indent=2))
    print(f"wrote bench/results/generator.json in {results['bench_seconds']:.0f} s")


if __name__ == "__main__":
    main()
