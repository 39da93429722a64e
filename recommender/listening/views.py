"""HTML pages of the listening log: history and the rating controls.

Each form works as a plain POST (redirecting back) and as an htmx request (answering with the
partial it changed).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Track
from musicsite.htmx import HtmxHttpRequest
from musicsite.redirects import safe_next_url
from recommender.listening import selectors, services
from recommender.listening.forms import PauseForm, RatingForm
from recommender.models import ListenEvent

HISTORY_PAGE_SIZE = 50


@require_GET
@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Recently played, liked and rated pieces; delete a listen; pause or resume history."""
    page = Paginator(selectors.listens_for(request.user), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "liked": selectors.liked_for(request.user)[:100],
        "rated": selectors.rated_for(request.user)[:100],
        "hidden": selectors.ratings_for(request.user).filter(not_interested=True)[:100],
        "paused": selectors.history_paused_for(request.user),
    }
    return render(request, "recommender/history.html", context)


@require_POST
@login_required
def history_pause(request: HtmxHttpRequest) -> HttpResponse:
    form = PauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose pause or resume.")
        return redirect("listening:history")
    paused = form.cleaned_data["paused"] == "1"
    services.history_pause_set(user=request.user, paused=paused)
    if request.htmx:
        return render(request, "recommender/history.html#pause", {"paused": paused})
    messages.success(
        request,
        "History paused: nothing you play is recorded until you resume."
        if paused
        else "History resumed.",
    )
    return redirect("listening:history")


@require_POST
@login_required
def listen_delete(request: HtmxHttpRequest, listen_id: int) -> HttpResponse:
    try:
        services.listen_delete(user=request.user, listen_id=listen_id)
    except ListenEvent.DoesNotExist:
        if request.htmx:
            return HttpResponse(status=404)
        messages.error(request, "That listen is not in your history.")
        return redirect("listening:history")
    if request.htmx:
        return HttpResponse("")  # the row swaps itself out
    messages.success(request, "Removed from your history.")
    return redirect(safe_next_url(request, reverse("listening:history")))


@require_POST
@login_required
def rate(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    """Stars, like or "not interested" from the rating controls."""
    track = get_object_or_404(Track.objects.visible_to(request.user), pk=track_id)
    form = RatingForm(request.POST)
    error = ""
    if form.is_valid():
        rating = services.rating_set(user=request.user, track=track, **form.changes())
    else:
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        rating = selectors.rating_for(request.user, track)
    next_url = safe_next_url(request, track.get_absolute_url())
    if request.htmx:
        context = {"track": track, "rating": rating, "next_url": next_url, "error": error}
        html = render_to_string("includes/rating_controls.html", context, request=request)
        return HttpResponse(html, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Saved your opinion of {track.title}.")
    return redirect(next_url)
