"""Where a form post may send the browser back to: only pages of this site."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

__all__ = ["safe_next_url"]


def safe_next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` of the post (or query) if it is a page of this site, else ``default``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if ok else default
