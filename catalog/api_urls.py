"""REST API endpoints of the catalog app (mounted under /api/v1/)."""

from django.urls import path

from catalog import api

urlpatterns = [
    path("tracks/", api.TrackListApi.as_view(), name="api-track-list"),
    path("tracks/<int:pk>/", api.TrackDetailApi.as_view(), name="api-track-detail"),
]
