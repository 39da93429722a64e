"""REST API of the feed and discovery (mounted under /api/v1/ by musicsite/api_urls.py)."""

from django.urls import path

from recommender.feed import api

urlpatterns = [
    path("feed/", api.FeedApi.as_view(), name="api-feed"),
    path("tracks/<int:pk>/similar/", api.SimilarTracksApi.as_view(), name="api-track-similar"),
    path("radio/<int:track_id>/", api.RadioApi.as_view(), name="api-radio"),
]
