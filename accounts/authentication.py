"""API token authentication: django-rest-knox's hashed tokens with an inactivity expiry.

``Authorization: Token <token>``. knox finds the row by the token's first characters, compares
SHA-512 digests and refuses (and deletes) an expired token. This subclass changes three things:

- Using a token moves its expiry to ``API_TOKEN_IDLE_DAYS`` from now (never past
  ``API_TOKEN_MAX_DAYS`` after sign-in) and records ``last_used_at``, in one UPDATE at most
  once every ``API_TOKEN_REFRESH_SECONDS``, so most requests write nothing.
- knox also reads every other token of the user on each request to delete the expired ones;
  here only the token sent is checked (one query a request), and a sign-in purges the user's
  expired tokens (``accounts.services.api_token_create``).
- A token that is not letters and digits (knox's and DRF's are hex) is refused with 401
  before any query: a NUL byte made PostgreSQL raise (500), a non-UTF-8 byte made knox raise.

``TokenScheme`` documents it in the OpenAPI schema (defined here, so it registers on import).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox import auth
from knox.settings import knox_settings
from rest_framework import exceptions

from accounts.models import ApiToken

__all__ = ["TokenAuthentication", "TokenScheme"]


class TokenAuthentication(auth.TokenAuthentication):
    """knox's ``TokenAuthentication`` with throttled refreshes and one query a request."""

    def authenticate_credentials(self, token: bytes):
        if not (token.isascii() and token.isalnum()):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)

    def renew_token(self, auth_token: ApiToken) -> None:
        now = timezone.now()
        expiry = now + knox_settings.TOKEN_TTL
        if knox_settings.AUTO_REFRESH_MAX_TTL is not None:
            expiry = min(expiry, auth_token.created + knox_settings.AUTO_REFRESH_MAX_TTL)
        last = auth_token.last_used_at
        if last is None or (now - last).total_seconds() > knox_settings.MIN_REFRESH_INTERVAL:
            auth_token.expiry, auth_token.last_used_at = expiry, now
            ApiToken.objects.filter(pk=auth_token.pk).update(expiry=expiry, last_used_at=now)

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        """Delete ``auth_token`` if it expired (knox's check, without reading the others)."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class TokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of ``TokenAuthentication`` (``tokenAuth``, as before knox)."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
        )
