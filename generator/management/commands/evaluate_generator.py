"""Score the generator: per-token NLL of a checkpoint on MIDI files, or (``--songs``) how close
written songs are to held-out real pieces of their style (``generator.evaluation``)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generator.evaluation import (
    EvaluationError,
    catalog_validation_features,
    evaluate_songs,
    folder_features,
    format_report,
    songs_features,
    songs_seconds,
)
from generator.ml.checkpoint import load_checkpoint
from generator.ml.data import evaluate_nll, perplexity, tokenize_files
from generator.ml.tokenizer import control_ids, find_midi_files
from recommender.ml.device import resolve_device


class Command(BaseCommand):
    help = (
        "Score a generator checkpoint on MIDI files (per-token NLL, perplexity), or with --songs "
        "compare songs from generate_songs with held-out real pieces of their style."
    )

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", help="NLL mode: the checkpoint to score")
        parser.add_argument("--midi", nargs="+", help="NLL mode: folders of MIDI files")
        parser.add_argument("--songs", type=Path, help="a folder written by generate_songs")
        parser.add_argument(
            "--real",
            type=Path,
            help="with --songs: real MIDI files, one style (default: the catalog's validation "
            "pieces, by style)",
        )
        parser.add_argument(
            "--full-pieces",
            action="store_true",
            help="with --songs: compare with whole real pieces (default: their first seconds, "
            "as long as the songs' median length)",
        )
        parser.add_argument("--out", help="write the result as JSON")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--limit", type=int, default=None, help="score at most N files")

    def handle(self, *args, **opts):
        if opts["songs"]:
            result = self._songs(opts)
        elif opts["checkpoint"] and opts["midi"]:
            result = self._nll(opts)
        else:
            raise CommandError("give --songs DIR, or --checkpoint and --midi")
        if opts["out"]:
            Path(opts["out"]).parent.mkdir(parents=True, exist_ok=True)
            Path(opts["out"]).write_text(json.dumps(result, indent=2))

    def _songs(self, opts) -> dict:
        try:
            songs = songs_features(opts["songs"])
            seconds = None if opts["full_pieces"] else songs_seconds(opts["songs"])
            real = (
                folder_features(opts["real"], seconds)
                if opts["real"]
                else catalog_validation_features(seconds)
            )
            report = evaluate_songs(songs, real)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        length = f"their first {seconds:.0f} s" if seconds else "whole pieces"
        self.stdout.write(f"real pieces: {length}\n" + format_report(report))
        return report | {"real_seconds": seconds}

    def _nll(self, opts) -> dict:
        try:
            device = resolve_device(opts["device"])
            model, config, tokenizer, _ = load_checkpoint(opts["checkpoint"], device)
            files = find_midi_files(opts["midi"])[: opts["limit"]]
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        seqs = tokenize_files(tokenizer, files, progress=True)
        if not seqs:
            raise CommandError("no readable MIDI files with notes in the given folders")
        nll, count = evaluate_nll(
            model, seqs, max_len=config.max_len, device=device, header=control_ids(tokenizer)
        )
        self.stdout.write(
            f"per-token NLL {nll:.4f} nats, perplexity {perplexity(nll):.3f} "
            f"({count} tokens, {len(seqs)} files)"
        )
        return {"test_nll": nll, "perplexity": perplexity(nll), "tokens": count, "files": len(seqs)}
