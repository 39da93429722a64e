"""The deployed server: gunicorn with gunicorn.conf.py and production settings, probed from
inside as compose's health check does, with DJANGO_ALLOWED_HOSTS the real domain."""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)  # Host: 127.0.0.1:<port>, plain HTTP, as `curl` in the container
    return conn.getresponse().status


@pytest.mark.slow
def test_the_containers_probe_passes_on_the_deployed_server(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    # SQLite under tmp_path (the suite's PostgreSQL database is the test run's, not this
    # server's); the cache and the broker are the suite's (Redis under CI).
    env.pop("DATABASE_URL", None)
    env |= {
        "DJANGO_SETTINGS_MODULE": "musicsite.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "VAR_DIR": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
    }
    env.setdefault("CELERY_BROKER_URL", "memory://")
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"]
    server = subprocess.Popen(
        [*command, "musicsite.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = _get(port, "/health/?format=json")
                break
            except OSError:
                time.sleep(0.3)
        assert server.poll() is None, server.stderr.read().decode()[-2000:]
        assert status == 200
        assert _get(port, "/") == 400  # any other page: the host check, as before
    finally:
        server.terminate()
        server.wait(timeout=30)
