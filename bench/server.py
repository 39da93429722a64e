"""A gunicorn server on loopback for the HTTP benchmarks (bench/ingest.py, bench/feed.py)."""

from __future__ import annotations

import http.client
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"  # the image's and compose's


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_environ() -> dict[str, str]:
    """Production settings (DEBUG off) with a throwaway secret key, served over plain HTTP on
    loopback: no HTTPS redirect, the rest (secure cookies, HSTS header) as deployed."""
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }


def gunicorn_start(
    *, app: str, port: int, workers: int, threads: int, env: dict[str, str]
) -> subprocess.Popen:
    """Start gunicorn with the deployed configuration (gunicorn.conf.py: gthread workers,
    keep-alive, access log) serving ``app``, and wait until /healthz answers."""
    command = [
        str(Path(sys.executable).parent / "gunicorn"), app, "--config", str(GUNICORN_CONFIG),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--log-level", "warning",
    ]  # fmt: skip
    # The access log is written as deployed; the bench's own output stays readable.
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not start within 60 s")
