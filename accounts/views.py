"""Account pages: sign-up, the profile with its API token. Login, logout and passwords use
Django's own views (see ``accounts/urls.py``) with this site's templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import SignUpForm
from accounts.limits import signup_limited
from musicsite.redirects import safe_next_url


def _safe_next(request: HttpRequest) -> str:
    return safe_next_url(request, resolve_url(settings.LOGIN_REDIRECT_URL))


@require_http_methods(["GET", "POST"])
@signup_limited  # per address (accounts/limits.py)
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and sign the new listener in."""
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Your account is ready.")
            return redirect(_safe_next(request))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Who you are, your API token, and links to your data."""
    return render(
        request,
        "accounts/profile.html",
        {
            "token": selectors.api_token_get(user=request.user),
            "data_links": selectors.profile_data_links(),
        },
    )


@login_required
@require_POST
def token_regenerate(request: HttpRequest) -> HttpResponse:
    """Issue a new API token (the old one stops working)."""
    _, revoked = services.api_token_regenerate(user=request.user)
    old = " The old one no longer works." if revoked else ""
    messages.success(request, f"A new API token was created.{old}")
    return redirect("accounts:profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke the API token (signs out every app that used it)."""
    if services.api_token_revoke(user=request.user):
        messages.success(request, "Your API token was revoked.")
    return redirect("accounts:profile")
