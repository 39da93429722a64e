"""Benchmark: the personalized feed at scale, in PostgreSQL (``make bench-feed``).

1. Creates a dedicated database (``musicsite_bench_feed``, dropped first), migrates it and loads
   a synthetic but realistic scale server-side: 10,000 pieces in 40 collections (taste clusters)
   with power-law popularity inside each, 2,000 listeners whose activity is power-law too, and
   1,000,000 listening events (80% from the listener's favourite clusters) plus ratings.
   No demo listener is involved.
2. Feed server time (in-process, no HTTP): for the listeners with the longest histories, a
   session of five requests: first page (feed built), two next pages, a rating (the feed goes
   stale) and the first page again (rebuilt). p50/p95 over all of them, then per kind.
3. Throughput: gunicorn on 127.0.0.1, 16 concurrent clients; requests/s of ``GET /api/v1/feed/``
   (each client its own long-history listener's token) beside ``GET /healthz`` (the framework's
   own floor: one trivial view with one ``SELECT 1``), in alternating short phases so that a
   machine whose speed drifts during the run weighs on both alike.

The server counts API throttles in the cache ``CACHE_URL`` names: per process by default (as
``make run``), or ``CACHE_URL=redis://127.0.0.1:6379/13 make bench-feed`` for counters shared
through Redis, as docker-compose deploys.

Goal: feed p95 <= 50 ms and feed throughput >= 50% of the trivial view's. Writes
``bench/results/feed.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from server import (  # bench/server.py, beside this script
    free_port,
    gunicorn_start,
    production_environ,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "feed.json"
DB_NAME = os.environ.get("BENCH_FEED_DB", "musicsite_bench_feed")  # its own, dropped first
logger = logging.getLogger("bench.feed")

TRACKS, LISTENERS, EVENTS, CLUSTERS = 10_000, 2_000, 1_000_000, 40


def seed_sql(tracks: int, listeners: int, events: int, clusters: int) -> list[str]:
    """Server-side generation: every row comes from generate_series, nothing crosses the wire."""
    per = tracks // clusters
    return [
        f"""INSERT INTO catalog_artist (id, name, slug)
            SELECT g, 'Composer ' || g, 'composer-' || g
            FROM generate_series(1, {clusters * 2}) g""",
        f"""INSERT INTO catalog_collection (id, name, slug, description)
            SELECT g, 'Collection ' || g, 'collection-' || g, ''
            FROM generate_series(1, {clusters}) g""",
        """INSERT INTO catalog_tag (id, name, slug)
           SELECT g, 'tag ' || g, 'tag-' || g FROM generate_series(1, 30) g""",
        f"""INSERT INTO catalog_track (id, title, artist_id, collection_id, midi_file, content_hash,
               source, duration_seconds, tempo_bpm, key, time_signature, instruments, note_count,
               pitch_min, pitch_max, audio_file, audio_mp3_file, pianoroll_image, render_status,
               render_error, render_attempts, status, origin, owner_id, music_hash, created_at,
               updated_at)
            SELECT g, 'Piece ' || g, 1 + (c * 2) + (g % 2), 1 + c, 'midi/bench/' || g || '.mid',
               md5('bench' || g) || md5('piece' || g), 'bench', 60 + (g % 180),
               60 + (c * 3) % 120 + (g % 17), (ARRAY['C major','G major','D minor','A minor',
               'F major','E minor'])[1 + (c + g) % 6], '4/4',
               to_jsonb(ARRAY[(ARRAY['Acoustic Grand Piano','Violin','Church Organ',
               'Flute','Fiddle','String Ensemble 1'])[1 + c % 6]]),
               200 + (g * 7) % 1800, 36 + c % 12, 72 + c % 20, '', '', '', 'ready', '', 0,
               'published', 'imported', NULL, md5('notes' || g) || md5('music' || g),
               now() - ((g * 37) % 720) * interval '1 day', now()
            FROM (SELECT g, (g - 1) / {per} AS c FROM generate_series(1, {tracks}) g) s""",
        f"""INSERT INTO catalog_track_tags (track_id, tag_id)
            SELECT g, 1 + ((g - 1) / {per}) % 30 FROM generate_series(1, {tracks}) g
            UNION ALL SELECT g, 1 + (g % 30) FROM generate_series(1, {tracks}, 3) g
            ON CONFLICT DO NOTHING""",
        f"""INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name,
               email, is_staff, is_active, date_joined)
            SELECT g, '!', false, 'bench' || g, '', '', '', false, true, now()
            FROM generate_series(1, {listeners}) g""",
        # Listener activity is power-law (listener 1 the busiest); 80% of each listener's
        # listens come from their two favourite clusters, popularity power-law inside each.
        f"""INSERT INTO recommender_listenevent (user_id, track_id, client_event_id, session_id,
               context, started_at, position_ms, played_ms, duration_ms, completed, skipped,
               counted, created_at, updated_at)
            SELECT u, t, gen_random_uuid(), NULL, 'feed', ts, p, p, 180000, r > 0.5,
               r < 0.15, r >= 0.15, ts, ts
            FROM (
              SELECT u, r, now() - random() * interval '90 days' AS ts,
                 CASE WHEN r < 0.15 THEN 5000 ELSE 180000 END AS p,
                 CASE WHEN random() < 0.8
                   THEN (((u * 7 + (CASE WHEN random() < 0.7 THEN 0 ELSE 13 END)) % {clusters})
                         * {per}) + 1 + floor(power(random(), 3) * {per})::int
                   ELSE 1 + floor(power(random(), 4) * {tracks})::int END AS t
              FROM (SELECT 1 + floor(power(random(), 2.5) * {listeners})::int AS u, random() AS r
                    FROM generate_series(1, {events})) a
            ) e""",
        """INSERT INTO recommender_rating (user_id, track_id, stars, liked, not_interested,
               created_at, updated_at)
            SELECT DISTINCT ON (user_id, track_id) user_id, track_id,
               CASE WHEN skipped THEN 2 ELSE 5 END, NOT skipped, false, now(), now()
            FROM recommender_listenevent WHERE id % 20 = 0
            ON CONFLICT DO NOTHING""",
        "SELECT setval(pg_get_serial_sequence('auth_user', 'id'), (SELECT max(id) FROM auth_user))",
        "SELECT setval(pg_get_serial_sequence('catalog_track', 'id'), "
        "(SELECT max(id) FROM catalog_track))",
        "ANALYZE",
    ]


def prepare_database(pg_url: str, args) -> None:
    import psycopg
    from tqdm import tqdm

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    _setup_django(f"{pg_url}/{DB_NAME}")
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    statements = seed_sql(args.tracks, args.listeners, args.events, CLUSTERS)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in tqdm(statements, desc="loading", unit="step"):
            cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM recommender_listenevent")
        (count,) = cursor.fetchone()
    print(f"loaded {args.tracks} pieces, {args.listeners} listeners, {count} events "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(production_environ())  # DEBUG off; the gunicorn it starts inherits it
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    static_root = Path(os.environ.setdefault("STATIC_ROOT", str(ROOT / "var" / "bench-static")))
    static_root.mkdir(parents=True, exist_ok=True)  # no static files are served; no warning
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    # Throttling stays on (window counters, as for any rate above 100 per period), with rates
    # no bench client reaches.
    os.environ["API_THROTTLE_RATES"] = "anon=100000/s,user=100000/s,feed=100000/s"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def long_history_listeners(n: int) -> list[int]:
    from django.db.models import Count

    from recommender.models import ListenEvent

    rows = (
        ListenEvent.objects.values("user_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("user_id", "n")[:n]
    )
    rows = list(rows)
    print(f"long-history listeners: {len(rows)}, {rows[-1][1]}-{rows[0][1]} events each")
    return [uid for uid, _ in rows]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def server_time(user_ids: list[int]) -> dict:
    """In-process feed sessions (no HTTP): build, next pages, rate, rebuild."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from tqdm import tqdm

    from catalog.models import Track
    from recommender.feed.services import feed_invalidate
    from recommender.listening.services import rating_set
    from recommender.models import FeedImpression, FeedSnapshot

    FeedSnapshot.objects.all().delete()  # with --skip-load: every first page is a real build
    FeedImpression.objects.all().delete()
    User = get_user_model()
    client = Client()
    warm = User.objects.get(pk=user_ids[-1])
    client.force_login(warm)
    client.get("/api/v1/feed/")  # process caches (content index, popularity) built once
    kinds: dict[str, list[float]] = {"build": [], "next": [], "rebuild": []}

    def timed(kind: str, url: str) -> dict:
        t0 = time.perf_counter()
        response = client.get(url)
        kinds[kind].append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.content[:300]
        return response.json()

    for uid in tqdm(user_ids, desc="feed sessions", unit="listener"):
        user = User.objects.get(pk=uid)
        client.force_login(user)
        page = timed("build", "/api/v1/feed/")
        for _ in range(2):
            page = timed("next", page["next"].replace("http://testserver", ""))
        track = Track.objects.get(pk=page["results"][0]["track"]["id"])
        rating_set(user=user, track=track, stars=1)
        feed_invalidate(user_id=uid)  # what the feedback hook does after commit
        timed("rebuild", "/api/v1/feed/")
    every = [x for values in kinds.values() for x in values]
    out = {"feed_p50_ms": statistics.median(every), "feed_p95_ms": pct(every, 0.95)}
    for kind, values in kinds.items():
        out[f"{kind}_p50_ms"] = statistics.median(values)
        out[f"{kind}_p95_ms"] = pct(values, 0.95)
    return out


def _client(port: int, path: str, token: str | None, deadline: float, out: list, lock) -> None:
    headers = {"Authorization": f"Token {token}"} if token else {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = errors = 0
    latencies: list[float] = []
    while time.monotonic() < deadline:
        try:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                latencies.append((time.perf_counter() - t0) * 1000)
                done += 1
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    with lock:
        out.append((done, errors, latencies))


def _drive(port, path, tokens, seconds, queue) -> None:
    out, lock = [], threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_client, args=(port, path, tok, deadline, out, lock))
        for tok in tokens
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(out)


def throughput(
    port: int, path: str, tokens: list, seconds: float, processes: int
) -> tuple[float, list[float]]:
    """Requests/s with ``len(tokens)`` concurrent clients spread over ``processes``, and the
    latency (ms, client side) of every request answered 200."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    chunks = [tokens[i::processes] for i in range(processes)]
    procs = [
        multiprocessing.Process(target=_drive, args=(port, path, chunk, seconds, queue))
        for chunk in chunks
    ]
    t0 = time.monotonic()
    for proc in procs:
        proc.start()
    results = [item for _ in procs for item in queue.get()]
    for proc in procs:
        proc.join()
    elapsed = time.monotonic() - t0
    done = sum(d for d, _, _ in results)
    errors = sum(e for _, e, _ in results)
    if errors:
        print(f"  {path}: {errors} failed requests")
    return done / elapsed, [ms for _, _, latencies in results for ms in latencies]


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen:
    return gunicorn_start(
        app="musicsite.wsgi:application",
        port=port,
        workers=workers,
        threads=threads,
        env=dict(os.environ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--tracks", type=int, default=TRACKS)
    parser.add_argument("--listeners", type=int, default=LISTENERS)
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--sessions", type=int, default=60, help="long-history listeners timed")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0, help="per endpoint, in all")
    parser.add_argument("--rounds", type=int, default=12, help="alternating throughput phases")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if args.skip_load:
        _setup_django(f"{args.pg_url}/{DB_NAME}")
    else:
        prepare_database(args.pg_url, args)
    users = long_history_listeners(max(args.sessions, args.clients))
    figures = server_time(users[: args.sessions])

    from django.contrib.auth import get_user_model

    from accounts.services import api_token_create

    clients = get_user_model().objects.filter(pk__in=users[: args.clients])
    tokens = [api_token_create(user=user, device="bench")[1] for user in clients]
    from django.db import connections

    connections.close_all()
    port = free_port()
    server = start_gunicorn(port, args.workers, args.threads)
    try:
        processes = min(4, args.clients)
        throughput(port, "/api/v1/feed/", tokens, 3.0, processes)  # warm every worker
        throughput(port, "/healthz", [None] * args.clients, 2.0, processes)
        # Alternate short phases, so a machine whose speed drifts affects both sides alike.
        phase = args.seconds / args.rounds
        trivial, feed, feed_ms = [], [], []
        for _ in range(args.rounds):
            trivial.append(throughput(port, "/healthz", [None] * args.clients, phase, processes)[0])
            rps, latencies = throughput(port, "/api/v1/feed/", tokens, phase, processes)
            feed.append(rps)
            feed_ms.extend(latencies)
        figures["trivial_rps"] = statistics.mean(trivial)
        figures["feed_rps"] = statistics.mean(feed)
        figures["feed_http_p50_ms"] = statistics.median(feed_ms)
        figures["feed_http_p95_ms"] = pct(feed_ms, 0.95)
        figures["feed_share_by_round"] = [f / t for f, t in zip(feed, trivial, strict=True)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures["feed_rps_share"] = figures["feed_rps"] / figures["trivial_rps"]
    from django.conf import settings

    figures["throttle_cache"] = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    figures.update(
        load_average_1m=os.getloadavg()[0],
        tracks=args.tracks, listeners=args.listeners, events=args.events, clients=args.clients,
        workers=args.workers, threads=args.threads, cpus=os.cpu_count(),
    )  # fmt: skip
    print()
    print(f"feed p50 {figures['feed_p50_ms']:7.1f} ms")
    print(f"feed p95 {figures['feed_p95_ms']:7.1f} ms   goal <= 50 ms")
    for kind in ("build", "next", "rebuild"):
        print(f"  {kind:8s} p50 {figures[kind + '_p50_ms']:6.1f} ms, "
              f"p95 {figures[kind + '_p95_ms']:6.1f} ms")  # fmt: skip
    print(f"feed     {figures['feed_rps']:7.0f} req/s ({args.clients} clients), "
          f"HTTP p50 {figures['feed_http_p50_ms']:.1f} ms, "
          f"p95 {figures['feed_http_p95_ms']:.1f} ms")  # fmt: skip
    print(f"trivial  {figures['trivial_rps']:7.0f} req/s   feed/trivial = "
          f"{figures['feed_rps_share']:.0%}, goal >= 50%")  # fmt: skip
    rounds = ", ".join(f"{share:.0%}" for share in figures["feed_share_by_round"])
    print(f"  feed/trivial by round: {rounds}")
    print(f"  throttle counters: {figures['throttle_cache']} (CACHE_URL)")
    print(f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
