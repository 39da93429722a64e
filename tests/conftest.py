"""Shared fixtures. Factories live in ``tests/factories.py``."""

import os

import pytest

# Under CI (REQUIRE_SERVICES=1) tests marked `services` must find PostgreSQL and a real broker.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test writes uploaded and rendered files to its own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
