"""Evaluate recommenders on an interaction file: leave-one-out, full ranking, anchors beside."""

import json
import logging
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.ml.data import DataFormatError, read_interactions
from recommender.ml.evaluate import evaluate_models, evaluate_seeds, format_table
from recommender.ml.kinds import KINDS
from recommender.ml.search import MAX_TRIALS

logger = logging.getLogger(__name__)


def _dataset_name(path: str) -> str | None:
    name = Path(path).name.lower()
    if "ml-1m" in name or "ml1m" in name:
        return "ml-1m"
    if "lastfm" in name:
        return "lastfm"
    return None


class Command(BaseCommand):
    help = (
        "Train and evaluate recommenders on a data file (leave-one-out, full ranking, seen items "
        "filtered) and print a table with the published anchors beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="interaction file")
        parser.add_argument(
            "--format",
            choices=["sasrec", "csv"],
            default="sasrec",
            help="'sasrec': 'user item...' lines in time order; "
            "'csv': user,item,timestamp[,weight]",
        )
        parser.add_argument(
            "--models",
            default=",".join(KINDS),
            help=f"comma-separated kinds among {','.join(KINDS)}",
        )
        parser.add_argument("--out", help="write the results as JSON keyed by model name")
        parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
        parser.add_argument(
            "--time-budget",
            type=float,
            default=None,
            help="seconds for each model: its settings are searched on the validation items "
            "within it (without it, each model's defaults are fitted)",
        )
        parser.add_argument(
            "--trials",
            type=int,
            default=MAX_TRIALS,
            help=f"trials at most per model in the search (default {MAX_TRIALS})",
        )
        parser.add_argument(
            "--config",
            default="{}",
            help='JSON overrides per kind, e.g. \'{"sasrec": {"hidden": 128}}\'',
        )
        parser.add_argument(
            "--seeds",
            type=int,
            default=1,
            help="repeat the whole run with seeds 0..N-1 (same split): each metric's mean, its "
            "95%% interval and every seed's figures",
        )
        parser.add_argument(
            "--anchors",
            choices=["ml-1m", "lastfm", "none"],
            default=None,
            help="which published anchors to print (guessed from the file name)",
        )

    def handle(self, *args, **options):
        kinds = [k.strip() for k in options["models"].split(",") if k.strip()]
        unknown = [k for k in kinds if k not in KINDS]
        if not kinds or unknown:
            raise CommandError(
                f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from "
                f"{', '.join(KINDS)}"
            )
        try:
            overrides = json.loads(options["config"])
            if not isinstance(overrides, dict):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            raise CommandError(
                f"--config is not a JSON object of per-model settings: {exc}"
            ) from None
        try:
            data = read_interactions(options["data"], options["format"])
            run = dict(
                device=options["device"],
                time_budget=options["time_budget"],
                max_trials=options["trials"],
            )
            if options["seeds"] == 1:
                results = evaluate_models(data, kinds, overrides=overrides, **run)
            else:
                results = evaluate_seeds(
                    data, kinds, seeds=options["seeds"], overrides=overrides, **run
                )
        except (DataFormatError, ValueError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        anchors = options["anchors"] or _dataset_name(options["data"])
        self.stdout.write(
            f"{options['data']}: {data.n_users} users, {data.n_items} items, {len(data)} events"
        )
        self.stdout.write(format_table(results, None if anchors == "none" else anchors))
        if options["out"]:
            out = Path(options["out"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=2))
            self.stdout.write(f"results written to {out}")
