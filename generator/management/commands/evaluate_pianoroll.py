"""Train and score the RNN-NADE piano-roll model on JSB Chorales / Nottingham (.mat splits)."""

import json
from pathlib import Path

import torch
from django.core.management.base import BaseCommand, CommandError

from generator.ml.pianoroll import PianoRollConfig, load_mat, train_and_evaluate
from recommender.ml.device import resolve_device

ANCHORS = {"JSB_Chorales": (8.10, 5.56, 8.45), "Nottingham": (3.07, 2.31, 3.29)}


class Command(BaseCommand):
    help = "Frame-level NLL (nats) of the piano-roll model on a .mat benchmark's test split."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="JSB_Chorales.mat or Nottingham.mat")
        parser.add_argument("--model", default="lstm", choices=["lstm", "transformer"])
        parser.add_argument("--time-budget", type=float, default=600.0, help="seconds")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--batch-pieces", type=int, default=8, help="pieces per step")
        parser.add_argument("--crop", type=int, default=200, help="frames per training piece")
        parser.add_argument("--hidden", type=int, default=256, help="time-model width")
        parser.add_argument("--out", help="write the result as JSON (test_nll etc.)")

    def handle(self, *args, **opts):
        if opts["threads"]:
            torch.set_num_threads(opts["threads"])
        try:
            data = load_mat(opts["data"])
            device = resolve_device(opts["device"])
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        config = PianoRollConfig(
            time_model=opts["model"],
            time_budget_s=opts["time_budget"],
            seed=opts["seed"],
            batch_pieces=opts["batch_pieces"],
            crop=opts["crop"],
            hidden=opts["hidden"],
        )
        result = train_and_evaluate(data, config, device=str(device))
        result["dataset"] = Path(opts["data"]).stem
        anchors = ANCHORS.get(result["dataset"])
        line = f"{result['dataset']} test frame NLL {result['test_nll']:.3f} nats"
        if anchors:
            result["anchors"] = {"TCN": anchors[0], "RNN-NADE": anchors[1], "LSTM": anchors[2]}
            line += f" (TCN {anchors[0]}, RNN-NADE {anchors[1]}, LSTM {anchors[2]})"
        self.stdout.write(line)
        if opts["out"]:
            Path(opts["out"]).parent.mkdir(parents=True, exist_ok=True)
            Path(opts["out"]).write_text(json.dumps(result, indent=2))
