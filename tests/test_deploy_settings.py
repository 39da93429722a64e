"""Production settings, as a fresh process reads them: DEBUG off unless asked, no site on a
development secret, and ``check --deploy`` clean with the README's production environment."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

OLD_DEFAULT_KEY = "django-insecure-development-only-key-change-me"


def _run(*argv: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    """``manage.py`` in a fresh process, with only the given DJANGO_* variables (set empty
    otherwise, so a developer's ``.env`` cannot fill them in)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean |= {"DJANGO_SETTINGS_MODULE": "musicsite.settings", "VAR_DIR": str(tmp_path)}
    clean |= {"DJANGO_DEBUG": "", "DJANGO_SECRET_KEY": "", "DJANGO_DEMO_MODE": ""}
    clean.setdefault("CELERY_BROKER_URL", "memory://")
    return subprocess.run(
        [sys.executable, "manage.py", *argv, *(["--no-imports"] if argv[0] == "shell" else [])],
        cwd=settings.BASE_DIR,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _print(expr: str) -> str:
    return f"from django.conf import settings; print({expr})"


def test_debug_and_demo_mode_are_off_by_default(tmp_path):
    key = secrets.token_urlsafe(50)
    done = _run("shell", "-c", _print("settings.DEBUG, settings.DEMO_MODE"),
                env={"DJANGO_SECRET_KEY": key}, tmp_path=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "change-me",
        OLD_DEFAULT_KEY,
        "django-insecure-" + "x" * 60,
        "short-but-random-8Jq2",
        "a" * 80,
    ],
)
def test_production_refuses_to_start_on_a_missing_or_development_secret(tmp_path, key):
    done = _run("check", env={"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key}, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "DJANGO_SECRET_KEY" in done.stderr
    assert "token_urlsafe" in done.stderr  # it says how to make one


def test_development_runs_without_a_secret(tmp_path):
    done = _run("shell", "-c", _print("bool(settings.SECRET_KEY)"),
                env={"DJANGO_DEBUG": "1"}, tmp_path=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


@pytest.mark.slow
def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)[:50],
        "DJANGO_ALLOWED_HOSTS": "example.org",
    }
    done = _run("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_security_defaults_and_their_switches(tmp_path):
    key = secrets.token_urlsafe(50)
    names = (
        "SECURE_SSL_REDIRECT, SECURE_PROXY_SSL_HEADER, SECURE_HSTS_SECONDS, "
        "SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE, CSRF_TRUSTED_ORIGINS"
    )
    expr = ", ".join(f"settings.{n.strip()}" for n in names.split(","))
    on = _run("shell", "-c", _print(expr), env={"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key},
              tmp_path=tmp_path)  # fmt: skip
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == ("True ('HTTP_X_FORWARDED_PROTO', 'https') 31536000 True True []")
    switched = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": key,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://example.org,https://www.example.org",
    }
    off = _run("shell", "-c", _print(expr), env=switched, tmp_path=tmp_path)
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == (
        "False None 0 False False ['https://example.org', 'https://www.example.org']"
    )
