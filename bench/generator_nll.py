"""Held-out per-token NLL of generator checkpoints on the same pieces (make bench-generator-nll).

Sets: the music21 corpus's test pieces that the demo catalog also holds (its O'Neill's, Ryan's,
Essen, Bach, Palestrina, Monteverdi and quartet sources; split by identity, so none was
trained on), and the shared Nottingham and POP909 MIDI (never trained on). Each checkpoint is
scored on each set with its own tokenizer; a checkpoint with style tokens reads the corpus
pieces with their style and key, the shared sets with their key only (their style is unknown).

Environment: BENCH_CHECKPOINTS (comma-separated checkpoint folders, default the shipped one;
put an older one first to compare, e.g. one extracted with ``git show``), BENCH_NLL_FILES
(pieces per set, default 150). Writes bench/results/generator_nll.json.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.corpus import read_manifest  # noqa: E402
from generator.ml.checkpoint import load_checkpoint  # noqa: E402
from generator.ml.data import evaluate_nll, split_by_identity, tokenize_pieces  # noqa: E402
from generator.ml.tokenizer import control_ids, find_midi_files  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "midi"
MODEL_ROOT = Path(os.environ.get("MODEL_ROOT", ROOT / "var" / "models"))
DEMO_SOURCES = (  # the music21 folders the demo catalog takes its pieces from
    r"^music21:(oneills1850|ryansMammoth|essenFolksong|bach|palestrina|monteverdi"
    r"|haydn|mozart|beethoven)/"
)
SHARED = {
    "nottingham": (DATA / "nottingham" / "nottingham-midi.tar.gz", r"^MIDI/[^/]+\.mid$"),
    "pop909": (DATA / "pop909" / "pop909.tar.gz", r"^POP909/(\d+)/\1\.mid$"),
}


def corpus_test(n: int) -> list[tuple[Path, str | None]]:
    folder = MODEL_ROOT / "generator-corpus"
    entries = [e for e in read_manifest(folder) if re.match(DEMO_SOURCES, e["ident"])]
    split = split_by_identity([e["ident"] for e in entries], val_fraction=0.1, test_fraction=0.1)
    return [(folder / entries[i]["path"], entries[i]["style"]) for i in split["test"][:n]]


def shared(name: str, n: int, tmp: Path) -> list[tuple[Path, str | None]]:
    archive, pattern = SHARED[name]
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and re.search(pattern, m.name)]
        members.sort(key=lambda m: m.name)
        tar.extractall(tmp / name, members=members[:n], filter="data")
    return [(p, None) for p in find_midi_files([tmp / name])]


def main() -> None:
    n = int(os.environ.get("BENCH_NLL_FILES", "150"))
    names = os.environ.get("BENCH_CHECKPOINTS", str(ROOT / "generator" / "checkpoints" / "demo"))
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"demo_catalog_test": corpus_test(n)}
        for name, (archive, _) in SHARED.items():
            if archive.is_file():
                sets[name] = shared(name, n, Path(tmp))
        for ckpt in names.split(","):
            model, config, tok, _ = load_checkpoint(ckpt, "cpu")
            row = {}
            for set_name, pieces in sets.items():
                seqs = tokenize_pieces(tok, pieces)
                nll, count = evaluate_nll(
                    model, seqs, max_len=config.max_len, device="cpu", header=control_ids(tok)
                )
                row[set_name] = {"nll": nll, "tokens": count, "pieces": len(seqs)}
                print(
                    f"{Path(ckpt).name:>24s}  {set_name:18s} {nll:.3f} nats/token "
                    f"({len(seqs)} pieces, {count} tokens)",
                    flush=True,
                )
            results[ckpt] = row
    out = ROOT / "bench" / "results" / "generator_nll.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
