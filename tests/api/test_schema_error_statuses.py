"""Each operation documents the error statuses it can really answer, not one list for all."""

from pathlib import Path

import pytest
import yaml

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.yaml"


@pytest.fixture(scope="module")
def operations() -> dict[str, dict]:
    schema = yaml.safe_load(COMMITTED.read_text())
    return {
        f"{method.upper()} {path}": operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def errors(operation: dict) -> set[str]:
    return {code for code in operation["responses"] if not code.startswith("2")}


def test_sign_up_reads_no_credentials_so_never_answers_401(operations):
    assert "401" not in errors(operations["POST /api/v1/auth/signup/"])
    assert "401" in errors(operations["POST /api/v1/auth/token/"])  # a wrong password


def test_404_only_where_the_path_names_something(operations):
    assert "404" not in errors(operations["GET /api/v1/me/"])
    assert "404" in errors(operations["GET /api/v1/tracks/{id}/"])


def test_400_only_where_there_is_input(operations):
    assert "400" not in errors(operations["GET /api/v1/me/"])
    assert "400" in errors(operations["GET /api/v1/tracks/"])  # its filters
    assert {"400", "413", "415"} <= errors(operations["POST /api/v1/playlists/"])


def test_conflicts_where_the_view_declares_them(operations):
    assert "409" in errors(operations["POST /api/v1/generation-jobs/"])
    assert "409" not in errors(operations["GET /api/v1/feed/"])
    assert "405" not in errors(operations["GET /api/v1/feed/"])


def test_every_operation_may_be_throttled(operations):
    assert all("429" in errors(operation) for operation in operations.values())
