"""Refuse to serve production on a missing or development secret key (read at settings load)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

# The key `make run` and the test suite use when none is set, with DEBUG on only.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-change-me"
MIN_LENGTH = 50  # as Django's own check (security.W009)
MIN_UNIQUE_CHARACTERS = 5
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "replace-me", "secret-key", "build-only")


def _problem(key: str) -> str | None:
    """Why ``key`` cannot sign a production site's sessions and tokens, or None."""
    if not key:
        return "is not set"
    lowered = key.lower()
    if key.startswith("django-insecure") or any(word in lowered for word in PLACEHOLDER_WORDS):
        return "is a development or placeholder value"
    if len(key) < MIN_LENGTH or len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return (
            f"is too weak (fewer than {MIN_LENGTH} characters, or fewer than "
            f"{MIN_UNIQUE_CHARACTERS} different ones)"
        )
    return None


def secret_key_checked(*, key: str, debug: bool) -> str:
    """The secret key to run with: ``key``; with DEBUG on and none set, the development key.

    With DEBUG off a missing, placeholder or short key raises ``ImproperlyConfigured`` that
    says how to make a good one, so the process stops before serving anything.
    """
    if debug:
        return key or DEVELOPMENT_SECRET_KEY
    problem = _problem(key)
    if problem is not None:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY {problem}, and DJANGO_DEBUG is off: the site will not start on "
            "a key anyone can know. Set DJANGO_SECRET_KEY (in .env) to a long random value, "
            "for example the output of: python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'. On a development machine, "
            "set DJANGO_DEBUG=true instead (`make run` does)."
        )
    return key


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """``SECURE_PROXY_SSL_HEADER`` for a header name (``X-Forwarded-Proto``), None if empty."""
    name = name.strip()
    if not name:
        return None
    meta = name.upper().replace("-", "_")
    return (meta if meta.startswith("HTTP_") else f"HTTP_{meta}", "https")
