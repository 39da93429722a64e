"""A quick fuzz of the whole API on a live server: no generated request may answer 5xx.

The full run, with every schemathesis check and thousands of cases against gunicorn, is
``make fuzz-api`` (bench/fuzz_api.py). This one runs schemathesis's coverage phase (each
parameter's boundary and wrong-type values) and a few fuzzed cases per operation, with a
listener's token, checking only for 5xx, so a regression shows within a minute or so.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.django_db(transaction=True)]

SIGN_OUT = ["--exclude-operation-id", "auth_token_destroy"]
SIGN_OUT += ["--exclude-operation-id", "auth_devices_destroy"]


def test_no_generated_request_answers_5xx(live_server, fuzz_listener, tmp_path):
    _user, token = fuzz_listener
    report = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run",
        f"{live_server.url}/api/v1/schema/?format=json", "--url", live_server.url,
        "--checks", "not_a_server_error", "--phases", "coverage,fuzzing",
        "--max-examples", "3", "--seed", "15", "--workers", "1",
        "--suppress-health-check", "all", "--continue-on-failure", "--no-shrink",
        "--warnings", "off", "--report", "json", "--report-json-path", str(report),
        "--header", f"Authorization: Token {token}", *SIGN_OUT,
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    data = json.loads(report.read_text())
    assert data["operations"]["tested"] >= 20, "the schema lost its operations"
    assert data["test_cases"]["generated"] >= 200
    server_errors = [f for f in data["failures"] if f["code"] == "ST101"]
    assert not server_errors, run.stdout[-20000:]
