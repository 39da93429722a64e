"""API token authentication with one lean query.

DRF's ``TokenAuthentication`` finds the token through the ORM
(``Token.objects.select_related("user").get(key=...)``). Compiling that query costs several times
more CPU than PostgreSQL spends running it, and every API request from a mobile client pays it.
This subclass runs the same lookup as one raw query on PostgreSQL, whose driver returns ready
Python values (booleans, aware datetimes), and keeps DRF's behaviour and messages. Other
databases (SQLite in development) need Django's value converters, so they keep DRF's lookup.

A subclass can read more about the listener in the same round trip: ``extra_sql`` adds columns
and joins over the user row (aliased ``USER_ALIAS``), and ``extra_loaded`` receives the values.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

__all__ = ["USER_ALIAS", "TokenAuthentication"]

USER_ALIAS = "u"  # the user row's alias in the lookup query, for ``extra_sql``


@cache
def _lookup(extra_columns: str = "", extra_joins: str = "") -> tuple[str, list[str]]:
    """The lookup query and the user fields its first columns fill, in order."""
    q = connection.ops.quote_name
    user_meta = get_user_model()._meta
    fields = user_meta.concrete_fields
    u = USER_ALIAS
    columns = ", ".join(f"{u}.{q(f.column)}" for f in fields)
    extra = f", {extra_columns}" if extra_columns else ""
    sql = (
        f"SELECT {columns}, t.created{extra} FROM {q(user_meta.db_table)} {u} "
        f"JOIN {q(Token._meta.db_table)} t ON t.user_id = {u}.{q(user_meta.pk.column)} "
        f"{extra_joins} WHERE t.key = %s"
    )
    return sql, [f.attname for f in fields]


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, looked up with one raw query."""

    def extra_sql(self) -> tuple[str, str]:
        """Columns (comma-separated) and joins over the user row ``USER_ALIAS`` to read too."""
        return "", ""

    def extra_loaded(self, user: AbstractBaseUser, token: Token, values: tuple) -> None:
        """Receives the ``extra_sql`` columns' values, read with an active user (PostgreSQL)."""

    def authenticate_credentials(self, key: str):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        sql, attnames = _lookup(*self.extra_sql())
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        n = len(attnames)
        user = get_user_model().from_db(connection.alias, attnames, row[:n])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token.from_db(
            connection.alias, ["key", "user_id", "created"], [key, user.pk, row[n]]
        )
        token.user = user
        self.extra_loaded(user, token, row[n + 1 :])
        return user, token
