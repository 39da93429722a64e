"""Site-wide views: the home page and the health check used by docker-compose."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from catalog import selectors as catalog_selectors
from musicsite.htmx import HtmxHttpRequest
from recommender.feed import views as feed_views


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    """The feed for a signed-in listener (onboarding first for a new one); a welcome page
    with a few pieces for everyone else."""
    if request.user.is_authenticated:
        return feed_views.feed(request)
    featured = catalog_selectors.track_featured(user=request.user, limit=8)
    return render(request, "home.html", {"featured": featured})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for container health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
