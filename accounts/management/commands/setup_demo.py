"""Prepare a fresh site for `make run`: demo catalog, demo listeners, and how to get in.

Outside demo mode (``DJANGO_DEMO_MODE`` off) only the demo catalog is imported: an operator may
want its public-domain pieces, but no account with a published password is created.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from accounts.services import demo_user_ensure

DEMO_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = (
        "Import the demo catalog on first run; in demo mode also seed the demo listeners and "
        "ensure the demo login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, help="import only about this many pieces")

    def handle(self, *args, **options) -> None:
        catalog_options = {} if options["limit"] is None else {"limit": options["limit"]}
        call_command("import_demo_catalog", **catalog_options)
        if not settings.DEMO_MODE:
            self.stdout.write(
                "Demo mode is off (DJANGO_DEMO_MODE): no demo login or demo listeners created. "
                "Create an admin with `manage.py createsuperuser`."
            )
            return
        call_command("seed_demo_listeners")
        username, password = demo_user_ensure()
        self.stdout.write(
            self.style.SUCCESS(
                f"\nmusicsite is starting at {DEMO_URL}\n"
                f"  demo login: {username} / {password}   (admin: {DEMO_URL}admin/)\n"
            )
        )
