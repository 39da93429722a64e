"""Catalog benchmark: demo import throughput, audio rendering speed, browse page server time.

Runs against a fresh temporary SQLite database and media folder (or the PostgreSQL database
given with ``--database-url``, which must be a throwaway one), never the developer's
``var/db.sqlite3``. Prints each figure beside its goal and writes ``bench/results/catalog.json``.

    make bench-catalog                      # full demo import (~1,100 pieces)
    .venv/bin/python bench/catalog.py --import-limit 200 --render-sample 10
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from server import production_environ  # bench/server.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "catalog.json"
GOALS = {
    # The first `make run` (install + migrate + import) must finish in 10 minutes on 2 cores:
    # ~1,100 pieces in under 4 minutes.
    "import_pieces_per_s": (">=", 4.6, "1,100 pieces in < 4 min on 2 cores"),
    # 1,100 pieces average ~45 s of music: two workers should finish within ~10 minutes.
    "render_realtime_factor": (">=", 20.0, "seconds of music per second of work"),
    "browse_p50_ms": ("<=", 100.0, "server time, demo catalog loaded"),
    "browse_p95_ms": ("<=", 250.0, "server time, demo catalog loaded"),
}


def _setup_django(database_url: str | None) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="musicsite-bench-catalog-"))
    os.environ["VAR_DIR"] = str(workdir)
    os.environ["TMPDIR"] = str(workdir)  # music21's parse cache starts empty, as on a new machine
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["CELERY_BROKER_URL"] = "memory://"  # render tasks never reach a real worker
    os.environ.update(production_environ())  # DEBUG off, a throwaway secret key
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    os.environ["LOG_LEVEL"] = "WARNING"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return workdir


def bench_import(limit: int | None, processes: int) -> dict:
    from tqdm import tqdm

    from catalog import services_demo

    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    result = services_demo.demo_catalog_import(
        limit=limit,
        processes=processes,
        progress=lambda total: tqdm(total=total, unit="piece", desc="1/3 demo import"),
    )
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    return {
        "import_pieces": result.created,
        "import_seconds": round(seconds, 1),
        "import_pieces_per_s": round(result.created / seconds, 2),
        # CPU time of this process and its pool: what the import costs when nothing else runs
        # (on a shared, busy machine the wall-clock rate above understates it).
        "import_cpu_seconds": round(cpu, 1),
        "import_pieces_per_cpu_s": round(result.created / cpu, 2) if cpu else 0.0,
        "import_skipped": len(result.failed) + result.duplicates,
    }


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_render(sample: int) -> dict:
    from tqdm import tqdm

    from catalog import rendering
    from catalog.models import Track

    ids = list(Track.objects.order_by("?").values_list("pk", flat=True)[:sample])
    music = work = 0.0
    for track in tqdm(Track.objects.filter(pk__in=ids), total=len(ids), desc="2/3 rendering"):
        with track.midi_file.open("rb") as handle:
            data = handle.read()
        started = time.perf_counter()
        rendering.render_media(data)
        work += time.perf_counter() - started
        music += track.duration_seconds
    return {
        "render_sample": len(ids),
        "render_music_seconds": round(music, 1),
        "render_work_seconds": round(work, 2),
        "render_realtime_factor": round(music / work, 1) if work else 0.0,
    }


def _browse_queries() -> list[dict]:
    from catalog.models import Artist, Collection, Tag, Track

    collection = Collection.objects.filter(tracks__isnull=False).order_by("name").first()
    artist = Artist.objects.filter(tracks__isnull=False).order_by("-name").first()
    tag = Tag.objects.filter(name="jig").first() or Tag.objects.first()
    key = Track.objects.values_list("key", flat=True).first() or "C major"
    queries: list[dict] = [{}, {"page": 10}, {"q": "reel"}, {"q": "o", "page": 3}]
    if collection:
        queries.append({"collection": collection.slug})
    if tag:
        queries.append({"tag": tag.slug, "key": key})
    if artist:
        queries.append({"composer": artist.slug, "tempo_min": 80, "tempo_max": 160})
    return queries


def bench_browse(rounds: int) -> dict:
    from django.test import Client
    from django.urls import reverse
    from tqdm import tqdm

    client = Client()
    url = reverse("catalog:browse")
    queries = _browse_queries()
    for query in queries:  # warm caches and check every combination works
        response = client.get(url, query)
        if response.status_code != 200:
            raise SystemExit(f"browse {query} answered {response.status_code}")
    timings: list[float] = []
    for _ in tqdm(range(rounds), desc="3/3 browse"):
        for query in queries:
            started = time.perf_counter()
            response = client.get(url, query)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    timings.sort()
    return {
        "browse_requests": len(timings),
        "browse_filter_combinations": len(queries),
        "browse_p50_ms": round(statistics.median(timings), 1),
        "browse_p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 1),
    }


def _report(figures: dict) -> None:
    print("\ncatalog benchmark")
    for name, (op, goal, note) in GOALS.items():
        value = figures.get(name)
        if value is None:
            print(f"  {name:24} (not measured)")
            continue
        ok = value >= goal if op == ">=" else value <= goal
        print(f"  {name:24} {value:>9}   goal {op} {goal:<6} {'ok ' if ok else 'MISS'}  ({note})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-limit", type=int, help="import only about N pieces")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--render-sample", type=int, default=30)
    parser.add_argument("--browse-rounds", type=int, default=20)
    parser.add_argument("--database-url", help="a throwaway PostgreSQL database to use")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    workdir = _setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from catalog.models import Track

    if Track.objects.exists():
        raise SystemExit("the benchmark database is not empty; give it a throwaway database")
    figures: dict = {"database": connection.vendor, "cpu_count": os.cpu_count()}
    figures.update(bench_import(args.import_limit, args.processes))
    figures.update(bench_render(args.render_sample))
    figures.update(bench_browse(args.browse_rounds))
    figures["catalog_size"] = Track.objects.count()
    figures["load_average_1m"] = round(os.getloadavg()[0], 1)
    _report(figures)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
