"""Recommender benchmark: the command a user runs, on ML-1M and Last.fm, anchors beside.

For each data set it runs ``manage.py evaluate_recommenders --models pop,als,sasrec
--time-budget B --seeds N`` with the same settings everywhere (no per-data-set configuration:
every choice is the search's, on validation): ML-1M with 1200 s and Last.fm with 600 s per
model, as the issue's done-means say. Then the training throughput (epochs per minute of the
default SASRec on each data set, Last.fm being a 52k-event log), the training loss's speed and
one listener's latency on a 50,000-item catalog. Writes ``bench/results/recsys.json``.

``BENCH_RECSYS_SEEDS`` (3), ``BENCH_RECSYS_BUDGET_SCALE`` (1; 0.1 for a smoke run) and
``BENCH_RECSYS_DATASETS`` (``ml-1m,lastfm``) change the run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommender.ml import seq_train  # noqa: E402
from recommender.ml.base import Recommender  # noqa: E402
from recommender.ml.data import leave_one_out, read_interactions  # noqa: E402
from recommender.ml.evaluate import format_table  # noqa: E402
from recommender.ml.mf import ALSRecommender, MFConfig  # noqa: E402
from recommender.ml.search import split_fit_data  # noqa: E402
from recommender.ml.seq_config import SeqConfig  # noqa: E402
from recommender.ml.seq_model import build_module  # noqa: E402
from recommender.ml.seq_recommender import SASRecRecommender  # noqa: E402
from recommender.ml.softmax import full_softmax_cross_entropy  # noqa: E402

logger = logging.getLogger("bench.recsys")
DATA = ROOT.parent / "shared" / "data" / "interactions"
SCALE = float(os.environ.get("BENCH_RECSYS_BUDGET_SCALE", "1"))
SEEDS = int(os.environ.get("BENCH_RECSYS_SEEDS", "3"))
MODELS = "pop,als,sasrec"

# The done-means: the best model's mean NDCG@10 over seeds, and the published anchors.
DATASETS: dict[str, dict[str, Any]] = {
    "ml-1m": {
        "path": DATA / "ml-1m" / "ml-1m.txt",
        "budget": 1200.0,
        "goal": 0.195,
        "anchors": "LRURec 0.1930 · SASRec-CE 0.1821 · gSASRec 0.1726",
    },
    "lastfm": {
        "path": DATA / "lastfm-s3rec" / "LastFM.txt",
        "budget": 600.0,
        "goal": 0.050,
        "anchors": "TV-Rec 0.0484 · BSARec 0.0435 · tuned ALS 0.0456",
    },
}


def evaluate(name: str, spec: dict) -> dict:
    """``manage.py evaluate_recommenders`` on ``spec``'s file, as a user would run it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        command = [
            sys.executable,
            str(ROOT / "manage.py"),
            "evaluate_recommenders",
            *("--data", str(spec["path"]), "--format", "sasrec", "--models", MODELS),
            *("--time-budget", f"{spec['budget'] * SCALE:g}", "--seeds", str(SEEDS)),
            *("--anchors", name, "--out", str(out)),
        ]
        print("$ " + " ".join(command[1:]), flush=True)
        env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "true")}
        subprocess.run(command, check=True, env=env, cwd=ROOT)
        return json.loads(out.read_text())


def throughput(path: Path, epochs: int = 2) -> dict[str, float]:
    """Epochs per minute of the default SASRec on ``path`` (no validation, after one warm-up
    batch), with the threads torch has."""
    data = read_interactions(path, "sasrec")
    split = leave_one_out(data.sequences(), data.n_items)
    config = dataclasses.replace(SeqConfig(), epochs=epochs, item_init="random", device="cpu")
    fit = split_fit_data(split, test=True)
    start = time.perf_counter()
    SASRecRecommender(config).fit(fit)
    seconds = time.perf_counter() - start
    return {
        "threads": torch.get_num_threads(),
        "events": len(data),
        "items": data.n_items,
        "seconds_per_epoch": round(seconds / epochs, 1),
        "epochs_per_minute": round(60 * epochs / seconds, 2),
    }


def _percentiles(fn, runs: int = 300) -> tuple[float, float]:
    for _ in range(10):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def large_catalog_speed(
    users: int = 5_000, items: int = 54_000, events: int = 350_000, steps: int = 8
) -> dict[str, dict[str, float]]:
    """Seconds an epoch would take, full and sampled softmax, of the default SASRec on a log the
    size of the issue's (350k events, 54k items; synthetic: popularity-skewed random picks),
    from the time of ``steps`` training steps."""
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, items + 1) ** 0.8
    picks = rng.choice(items, size=events, p=weights / weights.sum())
    sequences = np.array_split(picks, users)
    out = {}
    for loss in ("ce", "sampled"):
        config = dataclasses.replace(SeqConfig(), loss=loss, device="cpu")
        model = build_module(config.model, items)
        optim = torch.optim.AdamW(model.parameters(), lr=config.lr)
        examples = seq_train._examples(sequences, config.maxlen, windows=True)
        batches = seq_train._batches(examples, config.batch_size, rng)
        per_epoch = -(-len(examples) // config.batch_size)
        start = time.perf_counter()
        for _, (inp, tgt) in zip(range(steps), batches, strict=False):
            optim.zero_grad()
            seq_train._loss(model, inp, tgt, config.train).backward()
            optim.step()
        step = (time.perf_counter() - start) / steps
        out[loss] = {
            "seconds_per_step": round(step, 3),
            "seconds_per_epoch": round(step * per_epoch),
        }
    return out


def loss_speed(rows: int = 5_000, n_items: int = 3_416, dim: int = 64) -> dict[str, float]:
    """Milliseconds per loss and backward pass of one ML-1M-sized batch: chunked against whole."""
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(rows, dim, generator=gen, requires_grad=True)
    weights = torch.randn(n_items, dim, generator=gen, requires_grad=True)
    target = torch.randint(0, n_items, (rows,), generator=gen)
    losses = {
        "chunked": lambda: full_softmax_cross_entropy(hidden, weights, target),
        "pytorch": lambda: F.cross_entropy(hidden @ weights.T, target),
    }
    out = {"threads": torch.get_num_threads()}
    for _ in range(2):  # the second round's figures, after warm-up
        for name, loss in losses.items():
            start = time.perf_counter()
            for _ in range(20):
                loss().backward()
            out[name] = round((time.perf_counter() - start) / 20 * 1000, 1)
    return out


def latency(n_items: int = 50_000) -> dict[str, dict[str, float]]:
    """p50/p95 milliseconds for one listener's top-20 on an ``n_items`` catalog (one thread)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    history = rng.integers(0, n_items, 200)
    models: dict[str, Recommender] = {}
    for name, members in (("sasrec", 1), ("sasrec x2", 2)):  # one network, and an ensemble
        config = dataclasses.replace(SeqConfig(), maxlen=200, members=members)
        models[name] = SASRecRecommender(config)
        models[name].module = build_module(models[name].config, n_items).eval()
    als = ALSRecommender(MFConfig())
    als.user_factors = rng.normal(size=(1000, 64)).astype(np.float32)
    als.item_factors = rng.normal(size=(n_items, 64)).astype(np.float32)
    models["als"] = als
    out = {}
    for name, model in models.items():
        p50, p95 = _percentiles(lambda m=model: m.recommend(7, history, k=20))
        out[name] = {"p50_ms": round(p50, 3), "p95_ms": round(p95, 3)}
    return out


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(int(os.environ.get("BENCH_RECSYS_THREADS", "2")))
    chosen = os.environ.get("BENCH_RECSYS_DATASETS", ",".join(DATASETS)).split(",")
    results: dict = {"seeds": SEEDS, "budget_scale": SCALE}
    lines = []
    for name in chosen if SEEDS else []:  # BENCH_RECSYS_SEEDS=0: the speed figures alone
        spec = DATASETS[name]
        res = evaluate(name, spec)
        results[name] = res
        best = max(res, key=lambda kind: res[kind]["NDCG@10"])
        lo, hi = res[best]["NDCG@10_ci95"]
        lines += [
            f"== {name}: {spec['budget'] * SCALE:g} s per model, {SEEDS} seeds ==",
            format_table(res, name),
            f"best: {best} {res[best]['NDCG@10']:.4f} [{lo:.4f}, {hi:.4f}] "
            f"(goal ≥ {spec['goal']}; anchors {spec['anchors']})",
        ]
    for name in chosen:
        results[name] = results.get(name, {}) | {"throughput": throughput(DATASETS[name]["path"])}
    large = large_catalog_speed()
    results["large_catalog"] = large
    speed = loss_speed()
    results["loss_ms"] = speed
    lat = latency()
    results["latency"] = lat
    results["latency_p95_ms"] = max(v["p95_ms"] for v in lat.values())
    print("\n".join(lines))
    print("training throughput, default SASRec:")
    for name in chosen:
        t = results[name]["throughput"]
        print(
            f"  {name:<7} {t['events']:>9,} events {t['items']:>6,} items: "
            f"{t['epochs_per_minute']:.2f} epochs/min ({t['seconds_per_epoch']:.1f} s an epoch, "
            f"{t['threads']} threads)"
        )
    print("a 350k-event, 54k-item log (synthetic), default SASRec, one epoch:")
    for loss, v in large.items():
        print(f"  {loss:<8} {v['seconds_per_epoch']:>6} s ({v['seconds_per_step']:.2f} s a step)")
    print("inference latency, one listener, 50,000-item catalog (goal ≤ 10 ms p95):")
    for name, v in lat.items():
        print(f"  {name:<9} p50 {v['p50_ms']:.2f} ms   p95 {v['p95_ms']:.2f} ms")
    print(
        f"training loss + backward, 5,000 positions x 3,416 items ({speed['threads']} "
        f"threads): chunked {speed['chunked']:.1f} ms, F.cross_entropy {speed['pytorch']:.1f} ms"
    )
    out = ROOT / "bench" / "results" / "recsys.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
