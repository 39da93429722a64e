"""Top-level URLs: pages per app, the REST API under /api/v1/, the admin."""

from django.contrib import admin
from django.urls import include, path

from musicsite import health, metrics, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("health/", health.health, name="health"),  # database, cache, broker
    path("metrics", metrics.metrics, name="metrics"),  # Prometheus; token or staff only
    # The API first: its requests (the busiest) then skip matching every page pattern.
    path("api/v1/", include("musicsite.api_urls")),
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("recommender.listening.urls")),
    path("", include("generator.urls")),
    path("", include("recommender.feed.urls")),
    path("library/", include("accounts.library.urls")),
    path("admin/", admin.site.urls),
]
