"""Per-token NLL (nats) and perplexity of a checkpoint on a folder of MIDI files."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generator.ml.checkpoint import load_checkpoint
from generator.ml.data import evaluate_nll, perplexity, tokenize_files
from generator.ml.tokenizer import find_midi_files
from recommender.ml.device import resolve_device


class Command(BaseCommand):
    help = "Score a generator checkpoint on MIDI files: per-token NLL (nats) and perplexity."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", required=True)
        parser.add_argument("--midi", nargs="+", required=True)
        parser.add_argument("--out", help="write {test_nll, perplexity, tokens, files} as JSON")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--limit", type=int, default=None, help="score at most N files")

    def handle(self, *args, **opts):
        try:
            device = resolve_device(opts["device"])
            model, config, tokenizer, _ = load_checkpoint(opts["checkpoint"], device)
            files = find_midi_files(opts["midi"])[: opts["limit"]]
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        seqs = tokenize_files(tokenizer, files, progress=True)
        if not seqs:
            raise CommandError("no readable MIDI files with notes in the given folders")
        nll, count = evaluate_nll(model, seqs, max_len=config.max_len, device=device)
        result = {
            "test_nll": nll,
            "perplexity": perplexity(nll),
            "tokens": count,
            "files": len(seqs),
        }
        self.stdout.write(
            f"per-token NLL {nll:.4f} nats, perplexity {result['perplexity']:.3f} "
            f"({count} tokens, {len(seqs)} files)"
        )
        if opts["out"]:
            Path(opts["out"]).parent.mkdir(parents=True, exist_ok=True)
            Path(opts["out"]).write_text(json.dumps(result, indent=2))
