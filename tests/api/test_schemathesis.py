"""Fuzz the whole API against its own OpenAPI schema on a live server (loopback).

Every operation gets generated requests, valid (positive) and malformed (negative), sent with a
listener's token. The run fails on any 5xx, on an undocumented status code or content type, and
on a response that does not match the schema. Bounded by ``SCHEMATHESIS_MAX_EXAMPLES`` per
operation and mode (a few minutes in all); every failing operation is reported, not just the
first.
"""

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Operations that end the session on purpose; fuzzing them would only fuzz a 401 afterwards.
LAST_OR_SKIPPED = {
    ("DELETE", "/api/v1/auth/token/"),
    ("DELETE", "/api/v1/auth/devices/{id}/"),  # may sign the fuzzer's own device out
    ("DELETE", "/api/v1/me/"),
}


def test_api_conforms_to_its_schema(live_server, fuzz_listener):
    _user, token = fuzz_listener
    headers = {"Authorization": f"Token {token}"}
    raw = requests.get(f"{live_server.url}/api/v1/schema/?format=json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    session = requests.Session()

    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, "the schema lost its operations"
    for operation in operations:
        if (operation.method.upper(), operation.path) in LAST_OR_SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @hypothesis_settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            @given(case=strategy)
            def run(case) -> None:
                case.call_and_validate(
                    base_url=live_server.url,
                    session=session,
                    headers=headers,
                    checks=CHECKS,
                    timeout=30,
                )

            try:
                run()
            except (KeyboardInterrupt, SystemExit):
                raise
            except Unsatisfiable:
                continue  # no malformed variant exists (an operation without parameters)
            except BaseException as exc:  # schemathesis raises a FailureGroup; collect them all
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
                )
    assert not failures, "\n\n".join(failures)
