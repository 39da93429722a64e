"""The first start's progress page: while ``make run`` imports the demo catalog in the
background (``setup_demo --follow``), the front page says how far it is and what already plays.

The importing process writes its state to ``VAR_DIR/demo-import.json`` (``progress_write``):
its stage, the pieces planned and processed, and when it last wrote. Any web process reads it
(``progress_read``); a state not rewritten for ``STALE_SECONDS`` is an import that died (its
process killed), and is ignored. Pieces imported and playable are counted in the database.

``DemoImportMiddleware`` serves the progress page at ``/`` while the import runs, to everyone:
the front page would otherwise show a catalog half there. Every other page works as usual (the
pieces imported so far can be browsed and played). The page polls ``progress_fragment`` every
few seconds and goes to the front page once the import has ended.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

__all__ = [
    "IMPORTING",
    "STALE_SECONDS",
    "DemoImportMiddleware",
    "progress_clear",
    "progress_fragment",
    "progress_read",
    "progress_write",
]

IMPORTING, SEEDING, DONE = "importing", "seeding", "done"
# The importer rewrites the state at each stage and after each conversion job; one job, or
# seeding the demo listeners, can take minutes on a busy two-core machine. Older than this, the
# importer is taken to be gone and the front page is the catalog's again.
STALE_SECONDS = 600
POLL_SECONDS = 3


def state_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-import.json"


def progress_write(**state: Any) -> None:
    """Replace the state (atomically: a reader never sees half a file)."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    state["written_at"] = time.time()
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(state))
    temporary.replace(path)


def progress_clear() -> None:
    state_path().unlink(missing_ok=True)


def progress_read() -> dict[str, Any] | None:
    """The state of a live import (importing or seeding), or None."""
    try:
        state = json.loads(state_path().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("stage") not in (IMPORTING, SEEDING):
        return None
    if time.time() - float(state.get("written_at", 0)) > STALE_SECONDS:
        return None
    return state


def _context(state: dict[str, Any] | None) -> dict[str, Any]:
    from catalog.selectors import public_pieces_playable

    playable, imported = public_pieces_playable()
    planned = int(state.get("planned", 0)) if state else 0
    processed = int(state.get("processed", 0)) if state else 0
    logins: list[tuple[str, str]] = []
    if settings.DEMO_MODE:
        from accounts.demo_mode import published_logins

        logins = published_logins()
    return {
        "state": state,
        "running": state is not None,
        "stage": state.get("stage") if state else DONE,
        "planned": max(planned, processed),
        "processed": processed,
        "percent": round(100 * processed / planned) if planned else 0,
        "imported": imported,
        "playable": playable,
        "logins": logins,
        "poll_seconds": POLL_SECONDS,
    }


@require_GET
def progress_fragment(request: HttpRequest) -> HttpResponse:
    """The progress panel, polled by the page; once the import is over, htmx is sent on to the
    front page."""
    state = progress_read()
    response = render(request, "catalog/demo_progress.html#panel", _context(state))
    if state is None and request.headers.get("HX-Request"):
        response["HX-Location"] = json.dumps({"path": "/", "target": "body"})
    return response


def progress_page(request: HttpRequest, state: dict[str, Any]) -> HttpResponse:
    response = render(request, "catalog/demo_progress.html", _context(state))
    response["Cache-Control"] = "no-store"
    return response


class DemoImportMiddleware:
    """Answers ``GET /`` with the progress page while the demo import runs (see the module)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/" and request.method in ("GET", "HEAD"):
            state = progress_read()
            if state is not None:
                return progress_page(request, state)
        return self.get_response(request)
