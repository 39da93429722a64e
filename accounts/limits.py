"""Limits on the sign-up and password-reset pages, counted with the API's throttles.

Each POST spends from per-address budgets (``signup``, ``password_reset``: the address is
``musicsite.client_address``'s) and a reset also from one per e-mail address typed
(``password_reset_email``), counted whether or not an account has that address, so the refusal
says nothing about which addresses exist. Rates are the API's throttle rates
(``DEFAULT_THROTTLE_RATES``, ``API_THROTTLE_RATES``); the API's sign-up spends from the same
``signup`` budget. A refused POST gets a 429 page with the wait in words and in ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from musicsite.client_address import client_address
from musicsite.throttling import budgets_spend
from musicsite.waits import wait_of

__all__ = ["password_reset_limited", "signup_limited"]

Ident = Callable[[HttpRequest], "str | None"]


def _address(request: HttpRequest) -> str:
    return client_address(request) or "unknown"  # as the API's throttle names it


def _email(request: HttpRequest) -> str | None:
    email = str(request.POST.get("email", "")).strip().lower()
    return hashlib.sha256(email.encode()).hexdigest()[:32] if email else None


def too_many(request: HttpRequest, *, title: str, what: str, seconds: float) -> HttpResponse:
    """The 429 page: ``what`` was refused; try again after the wait it states (Retry-After)."""
    wait = wait_of(seconds)
    message = f"Too many {what}. Try again in {wait.text}."
    response = render(
        request,
        "registration/too_many_attempts.html",
        {"title": title, "message": message},
        status=429,
    )
    response["Retry-After"] = str(wait.seconds)
    return response


def _posts_limited(budgets: list[tuple[str, Ident]], *, title: str, what: str):
    """A view decorator: each POST spends from ``budgets`` (scope, ident of the request)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST":
                spends = [(scope, ident) for scope, key in budgets if (ident := key(request))]
                seconds = budgets_spend(spends)
                if seconds is not None:
                    return too_many(request, title=title, what=what, seconds=seconds)
            return view(request, *args, **kwargs)

        return limited

    return decorator


signup_limited = _posts_limited(
    [("signup", _address)], title="Too many sign-ups", what="sign-ups from your address"
)
password_reset_limited = _posts_limited(
    [("password_reset", _address), ("password_reset_email", _email)],
    title="Too many reset requests",
    what="password reset requests",
)
