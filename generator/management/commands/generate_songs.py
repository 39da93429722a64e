"""Write songs the way the site writes them (``generator.songs``), with a manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generator.songs import SongsError, songs_generate


class Command(BaseCommand):
    help = (
        "Write songs as the site would for listeners who each loved one random catalog piece, "
        "or opening with the first bars of each file in --primer-dir; DIR/NNN.mid and "
        "DIR/manifest.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="folder to write into")
        parser.add_argument("--count", type=int, default=10, help="how many songs (default 10)")
        parser.add_argument("--seconds", type=float, default=30.0, help="length, 5 to 180 s")
        parser.add_argument("--seed", type=int, default=0, help="seeds the picks and the songs")
        parser.add_argument("--primer-dir", type=Path, help="MIDI files whose openings to use")
        parser.add_argument("--checkpoint", type=Path, help="default: the active version's")

    def handle(self, *args, **opts):
        try:
            result = songs_generate(
                out=opts["out"],
                count=opts["count"],
                seconds=opts["seconds"],
                seed=opts["seed"],
                primer_dir=opts["primer_dir"],
                checkpoint=opts["checkpoint"],
            )
        except SongsError as exc:
            raise CommandError(str(exc)) from exc
        for reason in result.skipped:
            self.stderr.write(f"skipped primer {reason}")
        self.stdout.write(f"wrote {len(result.entries)} songs and manifest.json to {opts['out']}")
