"""REST API endpoints of the listening log (mounted under /api/v1/ by musicsite/api_urls.py)."""

from django.urls import path

from recommender.listening import api

urlpatterns = [
    path("listens/", api.ListensApi.as_view(), name="api-listens"),
    path("listens/beacon/", api.listens_beacon, name="api-listens-beacon"),
    path("ratings/<int:track_id>/", api.RatingApi.as_view(), name="api-rating"),
    path("me/history/", api.HistoryApi.as_view(), name="api-history"),
    path("me/history/settings/", api.HistorySettingsApi.as_view(), name="api-history-settings"),
    path("me/history/<int:listen_id>/", api.HistoryEventApi.as_view(), name="api-history-event"),
]
