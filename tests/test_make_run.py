"""`make run` is development: every process it starts runs with DEBUG and demo mode on."""

import os
import shutil
import subprocess

import pytest
from django.conf import settings

FAKE = """#!/bin/sh
echo "$(basename "$0") DJANGO_DEBUG=$DJANGO_DEBUG DJANGO_DEMO_MODE=$DJANGO_DEMO_MODE $*"
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize(
    ("environment", "expected"),
    [({}, "DJANGO_DEBUG=true DJANGO_DEMO_MODE=true"),
     ({"DJANGO_DEMO_MODE": "false"}, "DJANGO_DEBUG=true DJANGO_DEMO_MODE=false")],
)  # fmt: skip
def test_make_run_turns_debug_and_demo_mode_on(tmp_path, environment, expected):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "honcho"):  # stand-ins that print what they were started with
        (venv / "bin" / tool).write_text(FAKE)
        (venv / "bin" / tool).chmod(0o755)
    (venv / ".installed").touch()  # newer than pyproject.toml: no install step
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | environment
    done = subprocess.run(
        ["make", "-s", "run", f"VENV={venv}"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(("python", "honcho"))]
    assert any(line.startswith("python") and "setup_demo" in line for line in lines)
    assert any(line.startswith("honcho") and " start" in line for line in lines)
    assert all(expected in line for line in lines), lines
