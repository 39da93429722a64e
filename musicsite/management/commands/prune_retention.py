"""``manage.py prune_retention``: remove what retention does not keep (README "Operations").

The daily beat task ``musicsite.retention_prune`` runs the same service with the settings.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from musicsite.retention import retention_prune


class Command(BaseCommand):
    help = (
        "Remove the artifacts of never-promoted model versions beyond the newest few, "
        "and old feed impressions and snapshots."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would go; remove nothing"
        )
        parser.add_argument("--keep-versions", type=int, help="newest versions kept per kind")
        parser.add_argument("--impression-days", type=int, help="impressions kept this many days")
        parser.add_argument("--snapshot-days", type=int, help="snapshots kept this many days")

    def handle(self, *args, **options) -> None:
        bars: dict[str, tqdm] = {}

        def progress(step: str, done: int, total: int) -> None:
            bar = bars.get(step)
            if bar is None:
                bar = bars[step] = tqdm(total=total, desc=f"Pruning {step}", file=sys.stderr)
            bar.total = total
            bar.n = done
            bar.refresh()

        report = retention_prune(
            keep_versions=options["keep_versions"],
            impression_days=options["impression_days"],
            snapshot_days=options["snapshot_days"],
            dry_run=options["dry_run"],
            progress=progress,
        )
        for bar in bars.values():
            bar.close()
        for name in report.model_versions + report.generator_versions:
            self.stdout.write(f"  {'would prune' if report.dry_run else 'pruned'} {name}")
        self.stdout.write(self.style.SUCCESS(report.summary().capitalize()))
