"""django-environ's reader, with errors that name the variable at fault."""

from __future__ import annotations

import os
from contextlib import contextmanager

import environ
from django.core.exceptions import ImproperlyConfigured


@contextmanager
def _naming(var: str):
    try:
        yield
    except (ValueError, ImproperlyConfigured) as exc:
        if var not in os.environ:  # a missing variable: django-environ's message names it
            raise
        raise ImproperlyConfigured(
            f"Environment variable {var}={os.environ.get(var)!r} is not valid: {exc}"
        ) from exc


class Env(environ.Env):
    """``environ.Env`` whose parse errors say which variable held which value.

    django-environ raises a bare ``ValueError`` ("invalid literal for int() with base 10:
    'ten'") or "Invalid cache schema nosuch", neither of which says where to look.
    """

    def get_value(self, var: str, cast=None, default=environ.Env.NOTSET, parse_default=False):
        with _naming(var):
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)

    def db_url(self, var=environ.Env.DEFAULT_DATABASE_ENV, default=environ.Env.NOTSET, engine=None):
        with _naming(var):
            return super().db_url(var, default=default, engine=engine)

    def cache_url(
        self, var=environ.Env.DEFAULT_CACHE_ENV, default=environ.Env.NOTSET, backend=None
    ):
        with _naming(var):
            return super().cache_url(var, default=default, backend=backend)

    db = db_url
    cache = cache_url
