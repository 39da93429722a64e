"""The REST API, version 1: every app's endpoints plus the OpenAPI schema and its viewers."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from musicsite.api import api_not_found

urlpatterns = [
    # The busiest first (the feed, then listens): resolving a path tries patterns in order.
    path("", include("recommender.feed.api_urls")),
    path("", include("recommender.listening.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("catalog.api_urls")),
    path("", include("generator.api_urls")),
    path("", include("accounts.library.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
    # Last: unknown API paths answer in the API's error format (musicsite/api.py).
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
