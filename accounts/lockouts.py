"""Sign-in lockouts: django-axes with a limit of its own for each of three budgets.

Every failed sign-in (``/accounts/login/``, ``/admin/login/``, ``/api/v1/auth/token/``: all go
through ``django.contrib.auth.authenticate``) is recorded by axes under the client's address
(``musicsite.client_address``). Within ``AXES_COOLOFF_TIME`` of the last failure a sign-in is
refused, the right password too, when

- one account had ``AXES_FAILURE_LIMIT`` failures from this address (guessing one password):
  the account stays open from every other address, so nobody locks its owner out from afar;
- this address had ``SIGNIN_FAILURES_PER_ADDRESS`` failures over any accounts (trying one
  password on many accounts);
- one account had ``SIGNIN_FAILURES_PER_ACCOUNT`` failures from all addresses together (many
  addresses guessing it), except from an address it signed in from before, so its owner still
  gets in from home while strangers are held off.

A refused attempt is not counted, so one address adds at most ``AXES_FAILURE_LIMIT`` to an
account's budget and cannot lock it for everyone alone. Axes knows one limit for all its
lockout parameters (``AXES_LOCKOUT_PARAMETERS``, in the order above): ``get_failures`` scales
each budget's failures to it. The refusal is a 429 page, or the API's error body on ``/api/``,
with ``Retry-After`` the time the lock lifts.
"""

from __future__ import annotations

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_lockout_parameters
from axes.models import AccessLog
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from musicsite.api import error_payload
from musicsite.waits import wait_of

__all__ = ["SignInLockouts", "lockout_response"]


def _limit(parameters: str | list[str]) -> int:
    """The failures that lock ``parameters`` (one entry of AXES_LOCKOUT_PARAMETERS)."""
    if parameters == "ip_address":
        return settings.SIGNIN_FAILURES_PER_ADDRESS
    if parameters == "username":
        return settings.SIGNIN_FAILURES_PER_ACCOUNT
    return settings.AXES_FAILURE_LIMIT


class SignInLockouts(AxesDatabaseHandler):
    """Axes's database handler, with a limit per lockout parameter (see the module)."""

    def _budgets(self, request, credentials) -> list[tuple[QuerySet, int]]:
        """Each budget that applies to this sign-in: its recent attempts and its limit."""
        username = get_client_username(request, credentials)
        budgets = []
        parameters = get_lockout_parameters(request, credentials)
        for entry, attempts in zip(
            parameters, self.get_user_attempts(request, credentials), strict=True
        ):
            if entry == "username" and (
                not username
                or AccessLog.objects.filter(
                    username=username, ip_address=request.axes_ip_address
                ).exists()
            ):
                continue  # no account named, or one that signed in from here before
            budgets.append((attempts, _limit(entry)))
        return budgets

    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The failures of the budget nearest its limit, scaled to ``AXES_FAILURE_LIMIT``: at
        least that many exactly when some budget reached its own limit."""
        scale = settings.AXES_FAILURE_LIMIT
        worst = 0
        for attempts, limit in self._budgets(request, credentials):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            worst = max(worst, failures * scale // max(1, limit))
        return worst

    def lockout_seconds(self, request, credentials: dict | None = None) -> float:
        """Seconds until no budget is at its limit: when enough of the newest failures of each
        full budget have aged past the cool-off (each attempt row ages as its latest failure)."""
        cool_off = get_cool_off(request) or timedelta(0)
        now = request.axes_attempt_time
        wait = 0.0
        for attempts, limit in self._budgets(request, credentials):
            counted = 0
            rows = attempts.order_by("-attempt_time").values_list(
                "attempt_time", "failures_since_start"
            )
            for attempt_time, failures in rows:
                counted += failures
                if counted >= limit:  # the lock lifts when this row ages out
                    wait = max(wait, (attempt_time + cool_off - now).total_seconds())
                    break
        return wait


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: 429 with the wait in words and in ``Retry-After``."""
    handler = AxesProxyHandler.get_implementation()
    seconds = (
        handler.lockout_seconds(request, credentials)
        if isinstance(handler, SignInLockouts)
        else (get_cool_off(request) or timedelta(0)).total_seconds()
    )
    wait = wait_of(seconds)
    message = f"Too many failed sign-ins. Try again in {wait.text}."
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_payload("throttled", message), status=429)
    else:
        context = {"title": "Too many sign-ins", "message": message, "offer_reset": True}
        response = render(request, "registration/too_many_attempts.html", context, status=429)
    response["Retry-After"] = str(wait.seconds)
    return response
