"""``manage.py import_midi PATH...``: import MIDI files, folders and zips into the catalog."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from catalog import services
from catalog.models import Track


class Command(BaseCommand):
    help = "Import MIDI files, folders of MIDI files, or zips of them into the catalog."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="MIDI files, folders or .zip archives")
        parser.add_argument("--collection", help="collection name for every imported piece")
        parser.add_argument("--artist", help="composer/artist name for every imported piece")
        parser.add_argument("--tag", action="append", default=[], help="tag (repeatable)")
        parser.add_argument("--status", choices=Track.Status.values, default=Track.Status.PUBLISHED)

    def handle(self, *args, **options) -> None:
        report = services.catalog_import(
            sources=options["paths"],
            collection_name=options["collection"],
            artist_name=options["artist"],
            tag_names=options["tag"],
            status=options["status"],
            progress=lambda total: tqdm(total=total, unit="file", desc="Importing MIDI"),
        )
        for result in report.results:
            if result.outcome != services.CREATED:
                self.stdout.write(f"{result.outcome:9} {result.filename}: {result.reason}")
        self.stdout.write(self.style.SUCCESS(report.summary))
