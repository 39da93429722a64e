"""Create the demo listeners (clearly labelled, marked as demo data) and print their logins."""

from django.core.management.base import BaseCommand, CommandError

from accounts.demo_mode import DemoModeOff
from recommender.listening.demo_listeners import demo_listeners_seed


class Command(BaseCommand):
    help = (
        "Create a few demo listeners (demo-chorales, demo-irish-folk, ...) with listening "
        "histories drawn from distinct tastes in the demo catalog. Idempotent. Demo mode only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=0, help="Random seed for the histories")

    def handle(self, *args, **options) -> None:
        try:
            seeded = demo_listeners_seed(seed=options["seed"])
        except DemoModeOff as exc:
            raise CommandError(str(exc)) from exc
        if not seeded:
            self.stdout.write("No demo listeners: import the demo catalog first.")
            return
        self.stdout.write("Demo listeners (demo data; log in to see a mature feed):")
        for s in seeded:
            state = "created" if s.created else "already there"
            self.stdout.write(
                f"  {s.username} / {s.password}   {s.label}, {s.listens} listens ({state})"
            )
