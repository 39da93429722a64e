"""HTML pages of the feed and discovery (the feed is also the home page for listeners)."""

from django.urls import path

from recommender.feed import views

app_name = "feed"

urlpatterns = [
    path("feed/", views.feed, name="feed"),
    path("radio/<int:track_id>/", views.radio, name="radio"),
]
