"""The suite runs where it claims to: real services under CI, embedded defaults otherwise."""

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import REQUIRE_SERVICES


@pytest.mark.services
@pytest.mark.django_db
def test_ci_runs_against_postgresql_and_redis():
    if not REQUIRE_SERVICES:
        assert connection.vendor in {"sqlite", "postgresql"}
        return
    assert connection.vendor == "postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert os.environ["DATABASE_URL"].startswith("postgres")
    # Throttle counters shared by every process, as deployed (docker-compose.yml).
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_ml_packages_import_no_django():
    """`recommender/ml` and `generator/ml` stay free of Django (STYLE.md §7)."""
    import ast
    from pathlib import Path

    root = Path(settings.BASE_DIR)
    offenders = []
    for package in ("recommender/ml", "generator/ml"):
        for path in (root / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n == "django" or n.startswith(("django.", "rest_framework")) for n in names):
                    offenders.append(str(path.relative_to(root)))
    assert offenders == []


@pytest.mark.parametrize(
    ("read", "value"),
    [
        ("int", "ten"),
        ("float", "fast"),
        ("db", "postgres://u@h:notaport/db"),
        ("cache_url", "nosuch://x"),
    ],
)
def test_a_malformed_setting_names_its_variable(monkeypatch, read, value):
    from django.core.exceptions import ImproperlyConfigured

    from musicsite.env import Env

    monkeypatch.setenv("MUSICSITE_TEST_SETTING", value)
    with pytest.raises(ImproperlyConfigured, match="MUSICSITE_TEST_SETTING"):
        getattr(Env(), read)("MUSICSITE_TEST_SETTING")


def test_a_missing_required_setting_keeps_its_own_message(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from musicsite.env import Env

    monkeypatch.delenv("MUSICSITE_TEST_SETTING", raising=False)
    with pytest.raises(ImproperlyConfigured, match=r"^Set the MUSICSITE_TEST_SETTING environment"):
        Env().int("MUSICSITE_TEST_SETTING")
