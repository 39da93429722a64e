"""Train a token language model on MIDI files: one self-describing checkpoint directory."""

import json
import logging

import torch
from django.core.management.base import BaseCommand, CommandError

from generator.ml.config import TrainConfig, preset
from generator.ml.tokenizer import find_midi_files
from generator.ml.train import train_on_files
from generator.selectors import catalog_midi_paths

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Train the generator (transformer or lstm) on MIDI folders and/or the catalog."

    def add_arguments(self, parser):
        parser.add_argument("--midi", nargs="+", default=[], help="folders of .mid files")
        parser.add_argument(
            "--catalog", action="store_true", help="also use published imported tracks' MIDI"
        )
        parser.add_argument("--out", required=True, help="checkpoint directory to write")
        parser.add_argument(
            "--config", default="transformer", choices=["transformer", "lstm", "tiny", "tiny-lstm"]
        )
        parser.add_argument("--time-budget", type=float, default=None, help="seconds")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-epochs", type=int, default=None)
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")

    def handle(self, *args, **opts):
        if opts["threads"]:
            torch.set_num_threads(opts["threads"])
        try:
            paths = find_midi_files(opts["midi"]) if opts["midi"] else []
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        if opts["catalog"]:
            paths += catalog_midi_paths()
        if len(paths) < 3:
            raise CommandError(
                f"found {len(paths)} MIDI files; need at least 3 (pass --midi DIR or --catalog)"
            )
        model_config = preset(opts["config"])
        train_config = TrainConfig.tiny() if opts["config"].startswith("tiny") else TrainConfig()
        train_config.time_budget_s = opts["time_budget"]
        train_config.device = opts["device"]
        train_config.seed = opts["seed"]
        if opts["max_epochs"]:
            train_config.max_epochs = opts["max_epochs"]
        try:
            result = train_on_files(
                paths=paths,
                out_dir=opts["out"],
                model_config=model_config,
                train_config=train_config,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"checkpoint {result.out_dir}: step {result.step}, "
            f"validation NLL {result.val_nll:.4f} nats/token, test NLL {result.test_nll:.4f}"
        )
        self.stdout.write(json.dumps({"pieces": result.metrics["pieces"]}))
