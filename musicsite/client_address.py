"""The one place that decides a client's address: the API's throttles, the sign-in lockouts
(django-axes) and the sign-up and password-reset limits all ask ``client_address``.

A client can send any ``X-Forwarded-For`` it likes, so the header counts only where
``NUM_PROXIES`` (``DJANGO_NUM_PROXIES``) proxies sit in front of the site, each appending the
address it received the request from. Then the N-th address from the right is the one the
outermost proxy saw (DRF's ``NUM_PROXIES``); what the client wrote stands to its left.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

__all__ = ["client_address"]


def _valid(address: str) -> str | None:
    address = address.strip()
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address; None when neither the peer nor a trusted proxy names a valid one.

    With ``NUM_PROXIES = 0`` (the default) the peer's own address, ``REMOTE_ADDR``. Behind N
    proxies, the N-th entry from the right of ``X-Forwarded-For`` (its leftmost when it holds
    fewer); ``REMOTE_ADDR`` when the header is missing or that entry is not an IP address.
    """
    remote = _valid(request.META.get("REMOTE_ADDR") or "")
    proxies = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    entries = forwarded.split(",")
    return _valid(entries[-min(proxies, len(entries))]) or remote
