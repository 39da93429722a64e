"""Benchmark: listen ingest through gunicorn into PostgreSQL (``make bench-ingest``).

1. Creates a dedicated database (``musicsite_bench``) on the loopback PostgreSQL, migrates it
   and seeds listeners (with API tokens) and published pieces.
2. Starts gunicorn on 127.0.0.1 against it, with production settings (DEBUG off, throttling on).
3. Drives load from a separate process: ``--clients`` threads, each with its own keep-alive
   connection, for ``--seconds`` per phase: single-event requests, then batches of ``--batch``.
   About 5% of requests are retries of an already-acknowledged request (same client ids).
4. Prints sustained accepted events/s, p50/p95 latency and whether every acknowledged event is
   in the database exactly once, beside the goals and Gorse's anchor; writes
   ``bench/results/ingest.json``.

Usage: ``python bench/ingest.py [--seconds 15] [--clients 8] [--batch 250] [--workers 3]``.
``--without-hooks`` serves the same code with the listening hub's subscribers (feed
invalidation, online model update, retraining trigger) unregistered,
to see what the ingest path itself costs.
Environment: ``BENCH_PG_URL`` (default ``postgres://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest.json"
sys.path.insert(0, str(ROOT / "bench"))  # also when gunicorn imports this as bench.ingest
from ingest_load import DB_NAME, run_phase  # noqa: E402
from server import free_port, gunicorn_start, production_environ  # noqa: E402

GOAL_SINGLE_RPS = 300
GOAL_BATCHED_EPS = 5_000
ANCHOR = "Gorse: 10 feedback events in 3.6 ms (~2,800 events/s)"
logger = logging.getLogger("bench.ingest")


# --- the server side ------------------------------------------------------------------------


def prepare_database(pg_url: str, *, users: int, tracks: int) -> tuple[list[str], list[int]]:
    """Create, migrate and seed ``musicsite_bench``; return the API tokens and track ids."""
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = f"{pg_url}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
    os.environ.update(production_environ())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from accounts.services import api_token_create
    from catalog.models import Track

    call_command("migrate", verbosity=0)
    User = get_user_model()
    password = make_password("bench-password")
    people = User.objects.bulk_create(
        [User(username=f"bench{i}", password=password) for i in range(users)]
    )
    tokens = [api_token_create(user=u, device="bench")[1] for u in people]
    pieces = Track.objects.bulk_create(
        [
            Track(
                title=f"Bench piece {i}",
                midi_file=f"midi/bench/{i}.mid",
                content_hash=f"{i:064x}",
                duration_seconds=180.0,
                tempo_bpm=100.0,
                note_count=100,
                pitch_min=40,
                pitch_max=80,
            )
            for i in range(tracks)
        ]
    )
    return tokens, [p.pk for p in pieces]


def stored_count() -> int:
    from django.db import connection

    from recommender.models import ListenEvent

    connection.close()
    return ListenEvent.objects.count()


def wsgi_without_hooks():
    """gunicorn app factory (``bench.ingest:wsgi_without_hooks()``): the site minus the
    listening hub's subscribers."""
    from musicsite.wsgi import application
    from recommender.listening import hub

    for subscriber in hub.subscribers():
        hub.unsubscribe(subscriber)
    return application


def start_gunicorn(port: int, workers: int, threads: int, *, hooks: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "musicsite.settings",
        **production_environ(),
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_LEVEL": "WARNING",
        # No worker runs here: a retraining the trigger queues stays in memory.
        "CELERY_BROKER_URL": "memory://",
    }
    app = "musicsite.wsgi:application" if hooks else "bench.ingest:wsgi_without_hooks()"
    return gunicorn_start(app=app, port=port, workers=workers, threads=threads, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--batch", type=int, default=250, help="events per batched request")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--without-hooks", action="store_true", help="unregister feedback hooks")
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--tracks", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pg_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")

    load_at_start = os.getloadavg()[0]
    logger.info("preparing %s (%d listeners, %d pieces)", DB_NAME, args.users, args.tracks)
    tokens, track_ids = prepare_database(pg_url, users=args.users, tracks=args.tracks)
    port = free_port()
    server = start_gunicorn(port, args.workers, args.threads, hooks=not args.without_hooks)
    from recommender.listening import hub

    hooks = [getattr(h, "__qualname__", str(h)) for h in hub.subscribers()]
    hooks = [] if args.without_hooks else hooks
    try:
        logger.info(
            "gunicorn: %d workers x %d threads on 127.0.0.1:%d; %d clients, %.0f s each",
            args.workers,
            args.threads,
            port,
            args.clients,
            args.seconds,
        )
        run_phase(port, tokens, track_ids, batch=1, seconds=2, clients=2)  # warm up
        warm = stored_count()
        phase = {"seconds": args.seconds, "clients": args.clients, "gunicorn_pid": server.pid}
        single = run_phase(port, tokens, track_ids, batch=1, **phase)
        batched = run_phase(port, tokens, track_ids, batch=args.batch, **phase)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    stored = stored_count() - warm
    acknowledged = len(set(single["acked"]) | set(batched["acked"]))
    single_rps = single["requests"] / single["elapsed"]
    batched_eps = len(batched["acked"]) / batched["elapsed"]
    # Server CPU (gunicorn workers + the PostgreSQL backends) per accepted request/event: what
    # the ingest path itself costs, whatever else the shared machine is doing meanwhile.
    single_cpu_ms = 1000 * single["server_cpu_s"] / max(single["requests"], 1)
    batched_cpu_ms = 1000 * batched["server_cpu_s"] / max(len(batched["acked"]), 1)
    cores = os.cpu_count() or 1
    figures = {
        "single_rps": round(single_rps, 1),
        "single_p50_ms": round(single["p50"], 2),
        "single_p95_ms": round(single["p95"], 2),
        "batched_events_per_s": round(batched_eps, 1),
        "batch_size": args.batch,
        "batched_rps": round(batched["requests"] / batched["elapsed"], 1),
        "batched_p50_ms": round(batched["p50"], 2),
        "batched_p95_ms": round(batched["p95"], 2),
        "errors": single["errors"] + batched["errors"],
        "single_server_cpu_ms_per_request": round(single_cpu_ms, 3),
        "batched_server_cpu_ms_per_event": round(batched_cpu_ms, 4),
        "single_rps_cpu_bound_idle": round(cores * 1000 / single_cpu_ms, 1),
        "batched_events_per_s_cpu_bound_idle": round(cores * 1000 / batched_cpu_ms, 1),
        "load_average_1m_at_start": round(load_at_start, 2),
        "cpu_count": cores,
        "feedback_hooks": hooks,
        "acknowledged": acknowledged,
        "stored": stored,
        "clients": args.clients,
        "workers": args.workers,
        "threads": args.threads,
        "seconds_per_phase": args.seconds,
    }
    ok = lambda good: "meets" if good else "BELOW"  # noqa: E731
    print(
        f"single-event requests : {single_rps:8.1f} req/s  (goal >= {GOAL_SINGLE_RPS}: "
        f"{ok(single_rps >= GOAL_SINGLE_RPS)})  p50 {single['p50']:.1f} ms  "
        f"p95 {single['p95']:.1f} ms"
    )
    print(
        f"batched ({args.batch}/request)  : {batched_eps:8.1f} events/s  (goal >= "
        f"{GOAL_BATCHED_EPS}: {ok(batched_eps >= GOAL_BATCHED_EPS)})  p50 "
        f"{batched['p50']:.1f} ms  p95 {batched['p95']:.1f} ms per request"
    )
    per10 = 10_000 / batched_eps if batched_eps else float("inf")
    print(
        f"anchor                : {ANCHOR}; here 10 events take {per10:.2f} ms of sustained "
        "throughput"
    )
    print(
        f"server CPU            : {single_cpu_ms:.2f} ms per single-event request, "
        f"{batched_cpu_ms * 1000:.0f} us per batched event (gunicorn + PostgreSQL); "
        f"{cores} idle cores would bound them at {cores * 1000 / single_cpu_ms:.0f} req/s and "
        f"{cores * 1000 / batched_cpu_ms:.0f} events/s"
    )
    where = " (run in the request, after the commit, once per write)" if hooks else ""
    print(f"feedback hooks served : {', '.join(hooks) or 'none (--without-hooks)'}{where}")
    print(
        f"machine load          : 1-min load average {load_at_start:.1f} on {cores} cores at "
        "the start (other work shares these cores)"
    )
    print(
        f"acknowledged == stored: {acknowledged} == {stored}: "
        f"{'yes, zero lost' if acknowledged == stored else 'NO'}; "
        f"request errors: {figures['errors']}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    logger.info("wrote %s", RESULTS.relative_to(ROOT))


if __name__ == "__main__":
    main()
