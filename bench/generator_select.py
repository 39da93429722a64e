"""Choose the generator's architecture on validation NLL at equal training time (``make
bench-generator-select``): each candidate trains on the music21 corpus for the same wall-clock
budget from the same split; the test pieces are never scored here.

Environment: SELECT_SECONDS (per candidate, default 420), SELECT_CANDIDATES (comma-separated
presets, default transformer-small,transformer,transformer-wide), SELECT_THREADS (2).
Each candidate's checkpoint and resumable state stay in MODEL_ROOT/generator-select/<preset>,
so the chosen one goes on training with ``train_generator --music21 --resume --out`` that
folder. Writes bench/results/generator_select.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODEL_ROOT = Path(os.environ.get("MODEL_ROOT", ROOT / "var" / "models"))  # as the settings say

from generator.corpus import build  # noqa: E402
from generator.ml.config import TrainConfig, preset  # noqa: E402
from generator.ml.model import build_model, count_parameters  # noqa: E402
from generator.ml.train import Piece, train_on_pieces  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    seconds = float(os.environ.get("SELECT_SECONDS", "420"))
    names = os.environ.get(
        "SELECT_CANDIDATES", "transformer-small,transformer,transformer-wide"
    ).split(",")
    torch.set_num_threads(int(os.environ.get("SELECT_THREADS", "2")))
    folder = MODEL_ROOT / "generator-corpus"
    pieces = [Piece(folder / e["path"], e["style"], e["ident"]) for e in build(folder)]
    rows = []
    for name in names:
        config = preset(name)
        train = TrainConfig(time_budget_s=seconds, eval_every=50, patience=100, device="cpu")
        out = MODEL_ROOT / "generator-select" / name
        shutil.rmtree(out, ignore_errors=True)
        start = time.monotonic()
        result = train_on_pieces(
            pieces=pieces,
            out_dir=out,
            model_config=config,
            train_config=train,
            progress=False,
            score_test=False,
        )
        row = {
            "preset": name,
            "parameters": count_parameters(build_model(config)),  # vocab set by training
            "steps": result.step,
            "val_nll": result.val_nll,
            "seconds": time.monotonic() - start,
        }
        rows.append(row)
        print(
            f"{name:18s} {row['parameters'] / 1e6:5.2f} M params  best step {row['steps']:5d}  "
            f"validation NLL {row['val_nll']:.4f} nats/token  ({seconds:.0f} s budget)",
            flush=True,
        )
    best = min(rows, key=lambda r: r["val_nll"])
    print(
        f"chosen on validation: {best['preset']}; go on training it with\n"
        f"  python manage.py train_generator --music21 --config {best['preset']} --resume "
        f"--out {MODEL_ROOT / 'generator-select' / best['preset']}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "generator_select.json").write_text(
        json.dumps({"budget_s": seconds, "candidates": rows, "chosen": best["preset"]}, indent=2)
    )


if __name__ == "__main__":
    main()
