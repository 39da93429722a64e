"""Prepare a fresh site for `make run`: demo catalog, demo listeners, and how to get in.

Outside demo mode (``DJANGO_DEMO_MODE`` off) only the demo catalog is imported: an operator may
want its public-domain pieces, but no account with a published password is created.

``--follow`` is how `make run` runs it, as one of its processes, beside the web server and the
workers: the site answers at once and the import runs in the background. It creates the demo
login, waits until the web server answers and prints the URL and the logins, imports the
catalog with a progress line now and then (the front page shows the same progress, see
``catalog.demo_progress``), seeds the demo listeners, prints the URL and logins again, follows
the audio rendering until every piece plays (then queues the MP3s, left until then so that the
whole catalog plays sooner) and prints them once more. It never exits on its own: honcho would
stop the whole site with it.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from accounts.services import demo_user_ensure
from catalog.selectors import public_pieces_playable

logger = logging.getLogger(__name__)

DEMO_URL = "http://127.0.0.1:8000/"
PRINT_EVERY_S = 30.0  # a progress line at most this often
POLL_S = 2.0
WEB_WAIT_S = 120.0
RULE = "-" * 66


class Command(BaseCommand):
    help = (
        "Import the demo catalog on first run; in demo mode also seed the demo listeners and "
        "ensure the demo login. --follow: in the background of `make run` (see the module)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, help="import only about this many pieces")
        parser.add_argument(
            "--follow",
            action="store_true",
            help="import while the site runs, print progress and the logins, follow the audio",
        )
        parser.add_argument("--processes", type=int, default=2, help="conversion processes")

    def handle(self, *args, **options) -> None:
        if options["follow"]:
            self._follow(limit=options["limit"], processes=options["processes"])
            return
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

    # --- make run's background process ---------------------------------------------------

    def _say(self, text: str = "") -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _block(self, *lines: str) -> None:
        """The URL and the logins, under what just happened: the last lines on the screen."""
        self._say(RULE)
        for line in lines:
            self._say(line)
        self._say(f"  Open {DEMO_URL}")
        if settings.DEMO_MODE:
            from accounts.demo_mode import published_logins

            (user, password), *listeners = published_logins()
            self._say(
                f"  Log in as {user} / {password}   (staff; the admin is at {DEMO_URL}admin/)"
            )
            seeded = set(
                get_user_model()
                .objects.filter(username__in=[name for name, _ in listeners])
                .values_list("username", flat=True)
            )
            names = ", ".join(f"{name} / {secret}" for name, secret in listeners if name in seeded)
            if names:
                self._say(f"  Demo listeners with a history: {names}")
            elif self.importing:
                self._say("  Demo listeners with a history come once the import ends.")
        else:
            self._say("  Demo mode is off: create an admin with `manage.py createsuperuser`.")
        self._say(RULE)

    def _short_login(self) -> str:
        if not settings.DEMO_MODE:
            return DEMO_URL
        from accounts.services import DEMO_PASSWORD, DEMO_USERNAME

        return f"{DEMO_URL} (log in as {DEMO_USERNAME} / {DEMO_PASSWORD})"

    importing = False

    def _follow(self, *, limit: int | None, processes: int) -> None:
        self.started = time.monotonic()
        try:
            self._import_and_render(limit=limit, processes=processes)
        except Exception as exc:  # the site keeps running: honcho stops it all if this exits
            logger.exception("the demo setup stopped")
            self._block(f"The demo setup stopped ({type(exc).__name__}: {exc}); the site runs on.")
        finally:
            from catalog.demo_progress import progress_clear

            progress_clear()
        self._idle()

    def _idle(self) -> None:
        while True:  # stay: honcho ends every process when one exits
            time.sleep(3600)

    def _elapsed(self) -> str:
        seconds = time.monotonic() - self.started
        return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"

    def _wait_for_web(self) -> None:
        deadline = time.monotonic() + WEB_WAIT_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{DEMO_URL}healthz", timeout=2) as answer:
                    if answer.status == 200:
                        time.sleep(1.0)  # the other processes' start lines come first
                        return
            except OSError:
                pass
            time.sleep(0.5)
        logger.warning("the web server did not answer at %s within %.0f s", DEMO_URL, WEB_WAIT_S)

    def _import_and_render(self, *, limit: int | None, processes: int) -> None:
        from catalog import services_demo
        from catalog.demo_progress import IMPORTING, SEEDING, progress_write

        if settings.DEMO_MODE:
            demo_user_ensure()
        pending = services_demo.demo_catalog_pending(limit=limit)
        if pending:
            progress_write(stage=IMPORTING, planned=pending, processed=0)
        self.importing = bool(pending)
        self._wait_for_web()
        if pending:
            progress_write(stage=IMPORTING, planned=pending, processed=0)  # fresh after the wait
            self._block(
                f"musicsite answers ({self._elapsed()} after start). The demo catalog "
                f"({pending} pieces) is importing in the background;",
                "  its progress is on the front page, and every piece plays once its audio is "
                "rendered.",
            )
            result = services_demo.demo_catalog_import(
                limit=limit,
                processes=processes,
                progress=lambda total: _Progress(self, total),
                defer_mp3=True,
            )
            if settings.DEMO_MODE:
                progress_write(stage=SEEDING, planned=pending, processed=pending)
                self._seed_listeners()
            self.importing = False
            for line in result.duplicate_of:
                self._say(f"left out, a duplicate: {line}")
            for line in result.failed:
                self._say(f"left out: {line}")
            ready, total = public_pieces_playable()
            self._block(
                f"The demo catalog is imported: {result.created} pieces in {self._elapsed()} "
                f"({result.duplicates} duplicates and {len(result.failed)} failures left out).",
                f"  Audio: {ready} of {total} pieces play already; the rest are rendering.",
            )
        elif settings.DEMO_MODE:
            self._seed_listeners()  # only creates what is missing
        self._follow_audio(announce_start=not pending)

    def _seed_listeners(self) -> None:
        from recommender.listening.demo_listeners import demo_listeners_seed

        demo_listeners_seed(seed=0)

    def _follow_audio(self, *, announce_start: bool) -> None:
        from catalog import services

        ready, total = public_pieces_playable()
        if announce_start and ready >= total:
            queued = services.tracks_queue_missing_mp3()
            note = f" ({queued} MP3s queued for phones)" if queued else ""
            self._block(f"musicsite answers ({self._elapsed()} after start); all {total} pieces "
                        f"play{note}.")  # fmt: skip
            return
        if announce_start:
            self._block(
                f"musicsite answers ({self._elapsed()} after start). Audio: {ready} of {total} "
                "pieces play; the rest are rendering in the background."
            )
        last_print = time.monotonic()
        while True:
            ready, total = public_pieces_playable()
            waiting = _rendering()
            if not waiting:
                break
            if time.monotonic() - last_print >= PRINT_EVERY_S:
                self._say(
                    f"audio: {ready} of {total} pieces play ({self._elapsed()} after start) · "
                    f"{self._short_login()}"
                )
                last_print = time.monotonic()
            time.sleep(POLL_S)
        queued = services.tracks_queue_missing_mp3()
        failed = total - ready
        self._block(
            f"Every demo piece plays: {ready} of {total} ready {self._elapsed()} after start"
            + (f", {failed} failed to render (see the admin)" if failed else "")
            + f"; {queued} MP3s (for phones) follow in the background."
        )


def _rendering() -> int:
    """Public pieces still waiting for their audio (pending or rendering)."""
    from catalog.models import Track

    waiting = [Track.RenderStatus.PENDING, Track.RenderStatus.RENDERING]
    return Track.objects.filter(owner__isnull=True, render_status__in=waiting).count()


class _Progress:
    """The import's progress (``demo_catalog_import``'s tqdm-like hook): the state file for the
    front page at each step, a line on the console now and then."""

    def __init__(self, command: Command, total: int) -> None:
        self.command, self.total, self.done = command, total, 0
        self.last_print = time.monotonic()

    def update(self, n: int) -> Any:
        from catalog.demo_progress import IMPORTING, progress_write

        self.done += n
        progress_write(stage=IMPORTING, planned=self.total, processed=self.done)
        if time.monotonic() - self.last_print >= PRINT_EVERY_S:
            ready, imported = public_pieces_playable()
            self.command._say(
                f"demo catalog: {self.done} of {self.total} pieces read, {imported} imported, "
                f"{ready} play ({self.command._elapsed()} after start) · "
                f"{self.command._short_login()}"
            )
            self.last_print = time.monotonic()

    def close(self) -> None:
        return None
