"""HTML pages of the feed and discovery (the feed is also the home page for listeners)."""

from django.urls import path

from recommender import feed_views

app_name = "feed"

urlpatterns = [
    path("feed/", feed_views.feed, name="feed"),
    path("radio/<int:track_id>/", feed_views.radio, name="radio"),
]
