"""``manage.py render_pending``: queue rendering again for tracks whose audio never arrived,
and the MP3 of ready tracks rendered before there was one.

Useful after the broker lost its messages (for example a wiped ``var/broker``), and once after
upgrading to the MP3 rendition: those tracks stay ready (their Ogg plays) while it is encoded.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from catalog import services
from catalog.models import Track


class Command(BaseCommand):
    help = (
        "Queue audio rendering for pending (and, with --failed, failed) tracks, and the MP3 of "
        "ready tracks rendered before there was one (they stay playable meanwhile)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--failed", action="store_true", help="retry failed renders too")

    def handle(self, *args, **options) -> None:
        statuses = [Track.RenderStatus.PENDING, Track.RenderStatus.RENDERING]
        if options["failed"]:
            statuses.append(Track.RenderStatus.FAILED)
        ids = Track.objects.filter(render_status__in=statuses).values_list("pk", flat=True)
        count = services.tracks_rerender(track_ids=list(ids))
        self.stdout.write(self.style.SUCCESS(f"{count} track(s) queued for rendering"))
        mp3s = services.tracks_queue_missing_mp3()
        self.stdout.write(self.style.SUCCESS(f"{mp3s} ready track(s) queued for their MP3"))
