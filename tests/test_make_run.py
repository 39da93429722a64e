"""`make run` is development: every process it starts runs with DEBUG and demo mode on. The
site starts at once; the demo catalog is imported in the background by the Procfile's `demo`
process, and the routine log lines go to a file."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

FAKE = """#!/bin/sh
echo "$(basename "$0") DJANGO_DEBUG=$DJANGO_DEBUG DJANGO_DEMO_MODE=$DJANGO_DEMO_MODE \
ROUTINE_LOG_FILE=$ROUTINE_LOG_FILE $*"
"""
PROCFILE = Path(settings.BASE_DIR) / "musicsite" / "Procfile"


def _make(tmp_path, target: str, environment: dict) -> list[str]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    for tool in ("python", "honcho"):  # stand-ins that print what they were started with
        (venv / "bin" / tool).write_text(FAKE)
        (venv / "bin" / tool).chmod(0o755)
    (venv / ".installed").touch()  # newer than pyproject.toml: no install step
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | environment
    env.pop("ROUTINE_LOG_FILE", None)
    done = subprocess.run(
        ["make", "-s", target, f"VENV={venv}"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.startswith(("python", "honcho"))]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize(
    ("environment", "expected"),
    [({}, "DJANGO_DEBUG=true DJANGO_DEMO_MODE=true"),
     ({"DJANGO_DEMO_MODE": "false"}, "DJANGO_DEBUG=true DJANGO_DEMO_MODE=false")],
)  # fmt: skip
def test_make_run_turns_debug_and_demo_mode_on(tmp_path, environment, expected):
    lines = _make(tmp_path, "run", environment)
    assert any(line.startswith("python") and "migrate" in line for line in lines)
    # The import is not run before the server: the Procfile's demo process does it.
    assert not any(line.startswith("python") and "setup_demo" in line for line in lines)
    honcho = [line for line in lines if line.startswith("honcho")]
    assert len(honcho) == 1 and " start" in honcho[0] and "musicsite/Procfile" in honcho[0]
    assert all(expected in line for line in lines), lines
    routine_log = f"ROUTINE_LOG_FILE={settings.BASE_DIR}/var/log/routine.log"
    assert routine_log in honcho[0]


def test_make_setup_still_imports_everything_in_the_foreground(tmp_path):
    lines = _make(tmp_path, "setup", {})
    assert lines[-1].startswith("python") and lines[-1].endswith("manage.py setup_demo")


def test_the_procfile_starts_the_demo_setup_beside_the_site_and_workers_quietly():
    processes = dict(
        line.split(": ", 1) for line in PROCFILE.read_text().splitlines() if line.strip()
    )
    assert processes["demo"] == "python manage.py setup_demo --follow"
    assert processes["web"].startswith("python manage.py runserver 127.0.0.1:8000")
    for name in ("worker", "worker-ml", "beat"):
        assert processes[name].startswith("celery -q "), name  # no start-up banner
