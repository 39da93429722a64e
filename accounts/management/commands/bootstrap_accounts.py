"""Run on every production boot (compose's ``migrate`` service): no published login keeps
working outside demo mode, and the first admin comes from ``DJANGO_SUPERUSER_*`` if set."""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.bootstrap import superuser_ensure, superuser_exists
from accounts.demo_mode import published_logins_disable


class Command(BaseCommand):
    help = (
        "Lock accounts left with a published demo password (outside demo mode) and create the "
        "first admin from DJANGO_SUPERUSER_USERNAME/_EMAIL/_PASSWORD if set. Idempotent."
    )

    def handle(self, *args, **options) -> None:
        for username in published_logins_disable():
            self.stdout.write(f"{username}: its published demo password no longer signs in")
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        if username:
            password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
            if not password:
                raise CommandError(
                    "DJANGO_SUPERUSER_USERNAME is set: set DJANGO_SUPERUSER_PASSWORD"
                )
            email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip()
            try:
                created = superuser_ensure(username=username, email=email, password=password)
            except ValidationError as exc:
                raise CommandError(
                    f"DJANGO_SUPERUSER_PASSWORD is refused: {' '.join(exc.messages)}"
                ) from exc
            state = "created" if created else "already exists (left unchanged)"
            self.stdout.write(f"admin {username}: {state}")
        elif not superuser_exists():
            self.stdout.write(
                "No admin yet: run `docker compose run --rm web python manage.py "
                "createsuperuser`, or set DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and "
                "DJANGO_SUPERUSER_PASSWORD (in .env) before the next boot."
            )
