"""REST API of a listener's library: onboarding and playlists (mounted under /api/v1/)."""

from django.urls import path

from accounts.library import api

urlpatterns = [
    path("onboarding/", api.OnboardingApi.as_view(), name="api-onboarding"),
    path("onboarding/skip/", api.OnboardingSkipApi.as_view(), name="api-onboarding-skip"),
    path("playlists/", api.PlaylistListApi.as_view(), name="api-playlist-list"),
    path("playlists/liked/", api.LikedPlaylistApi.as_view(), name="api-playlist-liked"),
    path("playlists/<int:pk>/", api.PlaylistDetailApi.as_view(), name="api-playlist-detail"),
    path("playlists/<int:pk>/items/", api.PlaylistItemsApi.as_view(), name="api-playlist-items"),
    path(
        "playlists/<int:pk>/items/<int:track_id>/",
        api.PlaylistItemApi.as_view(),
        name="api-playlist-item",
    ),
    path("playlists/<int:pk>/order/", api.PlaylistOrderApi.as_view(), name="api-playlist-order"),
]
