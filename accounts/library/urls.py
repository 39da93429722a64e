"""HTML pages of a listener's library: onboarding and playlists (mounted at /library/)."""

from django.urls import path

from accounts.library import views

app_name = "library"

urlpatterns = [
    path("onboarding/", views.onboarding_page, name="onboarding"),
    path("onboarding/skip/", views.onboarding_skip, name="onboarding_skip"),
    path("playlists/", views.playlist_list, name="playlists"),
    path("playlists/liked/", views.liked, name="liked"),
    path("playlists/add/", views.playlist_add, name="playlist_add"),
    path("playlists/<int:pk>/", views.playlist_detail, name="playlist"),
    path("playlists/<int:pk>/move/", views.playlist_move, name="playlist_move"),
    path("playlists/<int:pk>/delete/", views.playlist_delete, name="playlist_delete"),
    path(
        "playlists/<int:pk>/remove/<int:track_id>/",
        views.playlist_remove,
        name="playlist_remove",
    ),
]
