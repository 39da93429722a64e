"""Train a token language model on MIDI: the music21 corpus by style, folders, or the catalog."""

import json
import logging
from pathlib import Path

import torch
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generator.ml.config import TrainConfig, preset
from generator.ml.tokenizer import find_midi_files
from generator.ml.train import Piece, continue_from, train_on_pieces
from generator.selectors import catalog_pieces

logger = logging.getLogger(__name__)
PRESETS = ["transformer", "transformer-wide", "transformer-small", "lstm", "tiny", "tiny-lstm"]


class Command(BaseCommand):
    help = (
        "Train the generator on the music21 corpus (--music21), MIDI folders and/or the "
        "catalog; resumable (--resume)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--music21",
            action="store_true",
            help="the whole music21 corpus by style (converted once to --corpus-dir)",
        )
        parser.add_argument(
            "--corpus-dir",
            default=None,
            help="where the converted corpus lives (default: MODEL_ROOT/generator-corpus)",
        )
        parser.add_argument("--midi", nargs="+", default=[], help="folders of .mid files")
        parser.add_argument(
            "--catalog", action="store_true", help="also use published imported tracks' MIDI"
        )
        parser.add_argument("--out", required=True, help="checkpoint directory to write")
        parser.add_argument(
            "--config",
            default="transformer-small",
            choices=PRESETS,
            help="model preset (default: the one make bench-generator-select chose)",
        )
        parser.add_argument("--time-budget", type=float, default=None, help="seconds")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-epochs", type=int, default=None)
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        parser.add_argument(
            "--resume", action="store_true", help="go on from the state left in --out"
        )
        parser.add_argument(
            "--restart-lr",
            action="store_true",
            help="with --resume: start again at the full learning rate (a warm restart)",
        )
        parser.add_argument(
            "--from",
            dest="from_checkpoint",
            default=None,
            help="go on training this checkpoint (its weights and step, a fresh optimiser) "
            "in --out; then resume there",
        )
        parser.add_argument("--lr", type=float, default=None)
        parser.add_argument("--eval-every", type=int, default=None, help="steps")
        parser.add_argument("--patience", type=int, default=None, help="evaluations")

    def handle(self, *args, **opts):
        if opts["threads"]:
            torch.set_num_threads(opts["threads"])
        pieces = self._pieces(opts)
        if len(pieces) < 3:
            raise CommandError(
                f"found {len(pieces)} MIDI files; need at least 3 "
                "(pass --music21, --midi DIR or --catalog)"
            )
        model_config = preset(opts["config"])
        train_config = TrainConfig.tiny() if opts["config"].startswith("tiny") else TrainConfig()
        train_config.time_budget_s = opts["time_budget"]
        train_config.device = opts["device"]
        train_config.seed = opts["seed"]
        for name in ("max_epochs", "lr", "eval_every", "patience"):
            if opts[name]:
                setattr(train_config, name, opts[name])
        try:
            if opts["from_checkpoint"]:
                step = continue_from(
                    opts["from_checkpoint"],
                    opts["out"],
                    model_config=model_config,
                    train_config=train_config,
                )
                self.stdout.write(f"going on from step {step} of {opts['from_checkpoint']}")
            result = train_on_pieces(
                pieces=pieces,
                out_dir=opts["out"],
                model_config=model_config,
                train_config=train_config,
                resume=opts["resume"] or bool(opts["from_checkpoint"]),
                restart_lr=opts["restart_lr"],
            )
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"checkpoint {result.out_dir}: step {result.step}, "
            f"validation NLL {result.val_nll:.4f} nats/token, test NLL {result.test_nll:.4f}"
        )
        self.stdout.write(json.dumps({"pieces": result.metrics["pieces"]}))

    def _pieces(self, opts) -> list[Piece]:
        pieces: list[Piece] = []
        if opts["music21"]:
            from generator.corpus import build

            folder = Path(opts["corpus_dir"] or Path(settings.MODEL_ROOT) / "generator-corpus")
            self.stdout.write(f"music21 corpus in {folder} (converted once, then reused)")
            for entry in build(folder):
                pieces.append(Piece(folder / entry["path"], entry["style"], entry["ident"]))
        try:
            files = find_midi_files(opts["midi"]) if opts["midi"] else []
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        pieces += [Piece(p, None, p.name) for p in files]
        if opts["catalog"]:
            pieces += catalog_pieces()
        return pieces
