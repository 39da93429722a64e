"""``manage.py merge_duplicate_tracks [--dry-run]``: one entry per piece of music.

Fills in the music fingerprint of public tracks imported before there was one, then merges
each group of public tracks with the same notes into one, moving every play, rating, like,
playlist entry and feed impression to the kept track (the rules: ``catalog.services_merge``).
All in one transaction; ``--dry-run`` does it all, prints what it did and rolls it back.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services_merge import MergeError, tracks_merge_duplicates


class Command(BaseCommand):
    help = (
        "Merge public tracks holding the same music (the notes, not the bytes) into one, "
        "keeping every play, rating, like, playlist entry and feed impression."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be merged; change nothing"
        )

    def handle(self, *args, **options) -> None:
        try:
            report = tracks_merge_duplicates(dry_run=options["dry_run"])
        except MergeError as exc:
            raise CommandError(str(exc)) from exc
        would = "would be " if report.dry_run else ""
        for group in report.groups:
            kept_id, kept_title = group.kept
            merged = ", ".join(f"#{pk} “{title}”" for pk, title in group.merged)
            self.stdout.write(f"#{kept_id} “{kept_title}” kept; {would}merged into it: {merged}")
        for name in report.unreadable:
            self.stdout.write(f"skipped {name}: its MIDI cannot be read")
        moved = ", ".join(f"{count} {kind}" for kind, count in sorted(report.moved.items()))
        summary = (
            f"{report.removed} duplicate track(s) {would}merged into {len(report.groups)} "
            f"(rows moved: {moved or 'none'}); {report.fingerprinted} fingerprint(s) "
            f"{would}filled in"
        )
        if report.dry_run:
            summary += " (dry run: nothing was changed)"
        self.stdout.write(self.style.SUCCESS(summary))
