"""Account pages: sign-up, the profile with its signed-in devices (API tokens), the data export
and the account's deletion. Login, logout and passwords use Django's own views (see
``accounts/urls.py``) with this site's templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import deletion, selectors, services
from accounts.export import export_build, export_filename
from accounts.forms import AccountDeleteForm, SignUpForm
from accounts.limits import signup_limited
from musicsite.redirects import safe_next_url
from recommender.listening import selectors as listening_selectors


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


def _profile(request: HttpRequest, **extra) -> HttpResponse:
    context = {
        "devices": selectors.api_tokens_of(user=request.user),
        "data_links": selectors.profile_data_links(),
        "device_name_max": services.DEVICE_NAME_MAX_LENGTH,
        "idle_days": settings.API_TOKEN_IDLE_DAYS,
        **extra,
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    """Who you are, your signed-in devices (API tokens), and links to your data."""
    return _profile(request)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Issue an API token for a script or app named on the form; the page shows it once."""
    name = request.POST.get("name", "").strip() or "Created on the profile page"
    _, token = services.api_token_create(user=request.user, device=name)
    messages.success(request, "A new API token was created. Copy it now: it is shown only once.")
    return _profile(request, new_token=token, new_token_name=name)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign one device out (its token stops working)."""
    if services.api_token_revoke(user=request.user, device_id=pk):
        messages.success(request, "That device was signed out.")
    return redirect("accounts:profile")


@login_required
@require_POST
def tokens_revoke_all(request: HttpRequest) -> HttpResponse:
    """Sign every device out (all API tokens stop working)."""
    if services.api_tokens_revoke_all(user=request.user):
        messages.success(request, "Every device was signed out.")
    return redirect("accounts:profile")


@require_GET
@login_required
def export(request: HttpRequest) -> FileResponse:
    """Download everything the site holds about the listener as a zip."""
    archive = export_build(user=request.user)
    name = export_filename(user=request.user)
    return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")


@require_http_methods(["GET", "POST"])
@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    """Confirm with the password, then delete the account and all its data."""
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        deletion.account_delete(user=user)
        messages.success(request, "Your account and all your data were deleted.")
        return redirect("home")
    counts = {
        "listens": listening_selectors.listens_for(request.user).count(),
        "ratings": listening_selectors.ratings_for(request.user).count(),
        "pieces": listening_selectors.private_pieces_for(request.user).count(),
    }
    return render(request, "accounts/account_delete.html", {"form": form, "counts": counts})
