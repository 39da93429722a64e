"""HTML pages of the catalog app."""

from django.urls import path

from catalog import demo_progress, media_views, staff_views, views

app_name = "catalog"

urlpatterns: list = [
    path("tracks/", views.browse, name="browse"),
    path("tracks/<int:pk>/", views.track_detail, name="track_detail"),
    path("tracks/<int:pk>/player/", views.track_player, name="track_player"),
    path("tracks/<int:pk>/status/", views.track_status, name="track_status"),
    path("tracks/<int:pk>/audio/", media_views.track_audio, name="track_audio"),
    path("tracks/<int:pk>/midi/", media_views.track_midi, name="track_midi"),
    path("tracks/<int:pk>/pianoroll/", media_views.track_pianoroll, name="track_pianoroll"),
    path("staff/upload/", staff_views.staff_upload, name="staff_upload"),
    path("demo-import/", demo_progress.progress_fragment, name="demo_progress"),
]
