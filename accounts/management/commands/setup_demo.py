"""Prepare a fresh site for `make run`: demo catalog, demo listener, and how to get in."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.services import demo_user_ensure

DEMO_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = "Import the demo catalog on first run, seed the demo listeners, ensure the demo login."

    def handle(self, *args, **options) -> None:
        call_command("import_demo_catalog")
        call_command("seed_demo_listeners")
        username, password = demo_user_ensure()
        self.stdout.write(
            self.style.SUCCESS(
                f"\nmusicsite is starting at {DEMO_URL}\n"
                f"  demo login: {username} / {password}   (admin: {DEMO_URL}admin/)\n"
            )
        )
