"""Fuzz the whole API against its own OpenAPI schema with schemathesis (``make fuzz-api``).

A throwaway SQLite database (a temporary folder) is migrated and seeded with a listener, an API
token, a few ingested pieces, a rating and a playlist; gunicorn serves it on loopback with the
production settings (DEBUG off) and throttles and sign-in lockouts lifted, so the fuzzer meets
the endpoints and not the limits. ``schemathesis run`` then sends every operation generated
requests with all checks, twice: with the listener's token, and anonymously. Each run's JSON
report gives the counts printed at the end: cases, checks, and failures by check. The command
fails on any failure (an ST code): a 5xx, a status, header or body the schema does not
document, a schema-violating request accepted or a schema-valid one refused.
``bench/schemathesis.toml`` lists, per operation, the 400s for rules no schema can state
(opaque cursors, passwords, names taken...).

``FUZZ_MAX_EXAMPLES`` (default 80) is schemathesis's ``--max-examples`` per operation;
``FUZZ_SEED`` (default 15) makes a run reproducible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import ROOT, free_port, gunicorn_start, production_environ

# The token run skips what would sign its own token out (the anonymous run covers them).
SIGN_OUT = [
    "--exclude-operation-id", "auth_token_destroy",
    "--exclude-operation-id", "auth_devices_destroy",
]  # fmt: skip
SERVER_ERROR = "ST101"  # schemathesis's code for a 5xx answer (not_a_server_error)
CONFIG = Path(__file__).with_name("schemathesis.toml")  # the rules no schema can state
UNLIMITED = "100000000/min"
THROTTLE_SCOPES = (
    "anon", "user", "auth", "feed", "signup", "password_reset", "password_reset_email",
)  # fmt: skip


def fuzz_environ(folder: Path) -> dict[str, str]:
    """The server's environment: its own database, media and models under ``folder``."""
    return {
        **os.environ,
        **production_environ(),
        "DJANGO_SETTINGS_MODULE": "musicsite.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'fuzz.sqlite3'}",
        "MEDIA_ROOT": str(folder / "media"),
        "MODEL_ROOT": str(folder / "models"),
        "STATIC_ROOT": str(folder / "static"),
        "CACHE_URL": "locmemcache://",
        "CELERY_BROKER_URL": "memory://",
        "API_THROTTLE_RATES": ",".join(f"{scope}={UNLIMITED}" for scope in THROTTLE_SCOPES),
        "GENERATOR_JOBS_PER_HOUR": "100000000",
        "SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS": "100000000",
        "SIGNIN_FAILURES_PER_ADDRESS": "100000000",
        "SIGNIN_FAILURES_PER_ACCOUNT": "100000000",
        "LOG_LEVEL": "ERROR",
    }


def seed() -> None:
    """(In the child process) rows for the fuzzer to find; print the listener's token."""
    import io

    import django
    import pretty_midi

    django.setup()
    from django.contrib.auth import get_user_model

    from accounts.models import Playlist
    from accounts.services import api_token_create
    from catalog.services import track_ingest
    from recommender.listening.services import rating_set

    user = get_user_model().objects.create_user("fuzzer", password="fuzz-fuzz-fuzz-1")
    tracks = []
    for seed_no in range(5):
        midi = pretty_midi.PrettyMIDI()
        piano = pretty_midi.Instrument(program=seed_no)
        for i in range(12):
            pitch = 60 + (i * (seed_no + 2)) % 12
            piano.notes.append(
                pretty_midi.Note(velocity=90, pitch=pitch, start=i / 4, end=i / 4 + 0.2)
            )
        midi.instruments.append(piano)
        buffer = io.BytesIO()
        midi.write(buffer)
        tracks.append(
            track_ingest(filename=f"fuzz-{seed_no}.mid", data=buffer.getvalue(), queue_render=False)
        )
    rating_set(user=user, track=tracks[0], stars=4, liked=True)
    Playlist.objects.create(owner=user, name="Fuzz")
    print(api_token_create(user=user, device="fuzzer")[1])


def _schemathesis(url: str, report: Path, extra: list[str]) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG), "run",
        f"{url}/api/v1/schema/?format=json", "--url", url, "--checks", "all", "--workers", "2",
        "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "80"),
        "--seed", os.environ.get("FUZZ_SEED", "15"),
        "--suppress-health-check", "all", "--continue-on-failure", "--no-shrink",
        "--request-timeout", "30", "--warnings", "off",
        "--report", "json,ndjson", "--report-json-path", str(report),
        "--report-ndjson-path", str(report.with_suffix(".ndjson")),
        *extra,
    ]  # fmt: skip
    subprocess.run(command, cwd=report.parent, check=False)  # its cache stays in the folder


def _check_results(value: object, found: Counter) -> None:
    """Count every check result (``{"name": ..., "status": ...}``) in an ndjson event."""
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and value.get("status") in ("success", "failure"):
            found[(value["name"], value["status"])] += 1
        for child in value.values():
            _check_results(child, found)
    elif isinstance(value, list):
        for child in value:
            _check_results(child, found)


def _counts(report: Path) -> dict[str, object]:
    """Cases, checks and failures by kind from a run's JSON and ndjson reports."""
    data = json.loads(report.read_text())
    checks: Counter = Counter()
    for line in report.with_suffix(".ndjson").read_text().splitlines():
        _check_results(json.loads(line), checks)
    return {
        "operations": data["operations"]["tested"],
        "cases": data["test_cases"]["generated"],
        "checks": sum(checks.values()),
        "checks_failed": sum(n for (_, status), n in checks.items() if status == "failure"),
        "by_check": {f"{name} {status}": n for (name, status), n in sorted(checks.items())},
        "failures": {f"{f['code']} {f['title']}": f["count"] for f in data["failures"]},
        "server_errors": next(
            (f["operations"] for f in data["failures"] if f["code"] == SERVER_ERROR), []
        ),
        "errors": len(data["errors"]),
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="musicsite-fuzz-") as tmp:
        folder = Path(tmp)
        env = fuzz_environ(folder)
        python = sys.executable
        for step in (["migrate"], ["collectstatic"]):  # as deployed: the static manifest too
            subprocess.run(
                [python, "manage.py", *step, "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
            )
        token = (
            subprocess.run(
                [python, __file__, "--seed"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        server = gunicorn_start(
            app="musicsite.wsgi:application", port=port, workers=2, threads=2, env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            runs = {
                "token": (["--header", f"Authorization: Token {token}", *SIGN_OUT]),
                "anonymous": [],
            }
            results = {}
            for name, extra in runs.items():
                report = folder / f"{name}.json"
                _schemathesis(url, report, extra)
                results[name] = _counts(report)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(json.dumps(results, indent=1))
    cases = sum(r["cases"] for r in results.values())
    checks = sum(r["checks"] for r in results.values())
    server_errors = sorted({op for r in results.values() for op in r["server_errors"]})
    failures: Counter = Counter()
    for run in results.values():
        failures.update(run["failures"])
    print(f"fuzz-api: {cases} cases, {checks} checks, 5xx on {len(server_errors)} operations")
    for operation in server_errors:
        print(f"  5xx: {operation}")
    print(f"fuzz-api: {sum(failures.values())} failures (goal: none)")
    for name, count in sorted(failures.items()):
        print(f"  {name}: {count}")
    return 1 if server_errors or failures else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--seed"]:
        seed()
    else:
        sys.exit(main())
