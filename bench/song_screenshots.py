"""Screenshots of a made-for-you song's page and of the piece it was modelled on (issue 17).

Builds a throwaway site under /tmp/shots (SQLite, media, broker), imports a few demo pieces and
three Bach chorales from music21's corpus, has a new listener love the chorales (5 stars), makes
a 30 s song the way the site does (``generation_job_create`` then ``generation_job_run``, no
broker), serves the site with ``runserver`` and photographs, signed in as the listener:

- the song's page ``/make/jobs/<id>/`` → ``docs/generator/song-page.png``
- its model piece's page (the job's ``primer_track``) → ``docs/generator/model-piece-page.png``

then prints what the pages say (reason, key, tempo, instruments). Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python bench/song_screenshots.py [--fresh] [--limit 12]

The generator is the active version: the shipped ``generator/checkpoints/demo`` on a new database.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHOTS = Path("/tmp/shots")
OUT_DIR = REPO / "docs" / "generator"
HOST, PORT = "127.0.0.1", 8765
VIEWPORT = {"width": 1100, "height": 900}
MAX_PNG_BYTES = 400_000
CHORALES = 3

ENV = {
    "DATABASE_URL": f"sqlite:///{SHOTS}/db.sqlite3",
    "MEDIA_ROOT": str(SHOTS / "media"),
    "VAR_DIR": str(SHOTS / "var"),  # the filesystem broker's folders, static root
    "MODEL_ROOT": str(REPO / "var" / "models"),
    "DJANGO_DEBUG": "true",
    "DJANGO_SETTINGS_MODULE": "musicsite.settings",
    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
}


def django_setup(fresh: bool) -> None:
    """Point the settings at /tmp/shots (wiped first with ``fresh``), set Django up, migrate."""
    if fresh and SHOTS.exists():
        shutil.rmtree(SHOTS)
    (SHOTS / "media").mkdir(parents=True, exist_ok=True)
    os.environ.update(ENV)
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def catalog_import(limit: int) -> list:
    """Import ``limit`` demo pieces and the first ``CHORALES`` Bach chorales; render the chorales
    (their pages show a piano roll). Returns the chorales' tracks."""
    from catalog import services, services_demo
    from catalog.ingest import demo
    from catalog.models import Track

    result = services_demo.demo_catalog_import(limit=limit, processes=1)
    print(f"demo catalog: {result.created} imported, {result.total} in all")
    root = demo.corpus_root()
    names = sorted(p.name for p in (root / "bach").glob("bwv*.mxl"))
    names = [n for n in names if re.fullmatch(r"bwv\d+(\.\d+)?\.mxl", n)][:CHORALES]
    chorales = []
    for name in names:
        source = f"music21:bach/{name}"
        track = Track.objects.filter(source=source).first()
        if track is None:
            pieces, failures = demo.convert_job(
                demo.DemoJob("bach", f"bach/{name}", idents=(source,))
            )
            if failures:
                raise SystemExit(f"could not convert {name}: {failures}")
            piece = pieces[0]
            track = services.track_ingest(
                filename=name,
                data=piece.midi,
                title=piece.title,
                artist_name=piece.artist or None,
                collection_name=piece.collection,
                tag_names=piece.tags,
                status=Track.Status.PUBLISHED,
                source=source,
                queue_render=False,
            )
        if track.render_status != Track.RenderStatus.READY:
            track = services.track_render(track_id=track.pk)
        chorales.append(track)
    return chorales


def song_make(chorales: list):
    """A new listener loves the chorales and gets a 30 s song; returns the finished job."""
    from django.contrib.auth import get_user_model

    from generator import services
    from recommender.listening.services import rating_set

    user = get_user_model().objects.create_user(
        username=f"listener{int(time.time())}", password=None
    )
    for track in chorales:
        rating_set(user=user, track=track, stars=5)
    version = services.generator_version_active()
    print(f"generator: {version.name} ({version.artifact_path})")
    job = services.generation_job_create(user=user, seconds=30)
    started = time.perf_counter()
    job = services.generation_job_run(job_id=job.pk)
    print(f"job {job.pk}: {job.status} in {time.perf_counter() - started:.1f} s {job.error}")
    if job.status != "succeeded":
        raise SystemExit(f"the song was not made: {job.error}")
    return job


def server_start() -> subprocess.Popen:
    """``runserver`` in a subprocess with the same environment; returns once it answers."""
    env = {**os.environ, **ENV}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"runserver exited with {proc.returncode}")
        try:
            socket.create_connection((HOST, PORT), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("runserver did not answer within 60 s")


def session_cookie(user) -> dict:
    """The listener's session cookie, as ``tests/e2e`` signs a browser in."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": cookie.key, "value": cookie.value, "url": f"http://{HOST}:{PORT}"}


def png_small(data: bytes) -> bytes:
    """The PNG as it is, or quantised to 256 colours when it is over ``MAX_PNG_BYTES``."""
    if len(data) <= MAX_PNG_BYTES:
        return data
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def page_shot(page, url: str, path: Path) -> dict[str, str]:
    """Open ``url``, save a full-page (else main-content) PNG at ``path``; return its facts."""
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(500)
    data = png_small(page.screenshot(full_page=True))
    if len(data) > MAX_PNG_BYTES:
        data = png_small(page.locator("main").screenshot())
    path.write_bytes(data)
    facts = dict(
        zip(
            page.locator("dl.facts dt").all_inner_texts(),
            page.locator("dl.facts dd").all_inner_texts(),
            strict=False,
        )
    )
    facts["title"] = page.locator("main h1").first.inner_text()
    facts["bytes"] = str(len(data))
    return facts


def screenshots(job) -> None:
    """Photograph the song's page and its model piece's page, signed in as the listener."""
    from playwright.sync_api import sync_playwright

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    base = f"http://{HOST}:{PORT}"
    song_png, model_png = OUT_DIR / "song-page.png", OUT_DIR / "model-piece-page.png"
    cookie = session_cookie(job.user)  # ORM work before Playwright's event loop starts
    model_url = f"{base}{job.primer_track.get_absolute_url()}"
    proc = server_start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            context = browser.new_context(viewport=VIEWPORT)
            context.add_cookies([cookie])
            page = context.new_page()
            song = page_shot(page, f"{base}/make/jobs/{job.pk}/", song_png)
            song["reason"] = page.locator("#job-status > p").first.inner_text()
            model = page_shot(page, model_url, model_png)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for label, path, facts in (("song", song_png, song), ("model piece", model_png, model)):
        print(f"\n{label}: {path.relative_to(REPO)}")
        for name, value in facts.items():
            print(f"  {name}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="wipe /tmp/shots first")
    parser.add_argument("--limit", type=int, default=12, help="demo pieces to import")
    args = parser.parse_args()
    django_setup(args.fresh)
    chorales = catalog_import(args.limit)
    job = song_make(chorales)
    screenshots(job)


if __name__ == "__main__":
    main()
