"""``manage.py import_demo_catalog``: build the demo catalog from the music21 corpus (offline)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from catalog import services_demo
from catalog.models import Track


class Command(BaseCommand):
    help = "Import about 1,100 real pieces from the music21 corpus (never downloads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, help="import only about this many pieces")
        parser.add_argument("--processes", type=int, default=2, help="conversion processes")
        parser.add_argument("--status", choices=Track.Status.values, default=Track.Status.PUBLISHED)

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        result = services_demo.demo_catalog_import(
            limit=options["limit"],
            processes=options["processes"],
            status=options["status"],
            progress=lambda total: tqdm(total=total, unit="piece", desc="Demo catalog"),
        )
        elapsed = time.perf_counter() - started
        for line in result.duplicate_of:
            self.stdout.write(f"duplicate  {line}")
        if not result.created and result.already_present:
            self.stdout.write(f"demo catalog already imported: {result.total} pieces")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"demo catalog: {result.created} piece{'s' if result.created != 1 else ''} "
                f"imported in {elapsed:.0f} s "
                f"({result.total} in all; {result.duplicates} duplicates, "
                f"{len(result.failed)} skipped); audio renders in the background worker"
            )
        )
