"""HTML pages of the listening log: history and the rating controls."""

from django.urls import path

from recommender.listening import views

app_name = "listening"

urlpatterns = [
    path("history/", views.history, name="history"),
    path("history/pause/", views.history_pause, name="history_pause"),
    path("history/<int:listen_id>/delete/", views.listen_delete, name="listen_delete"),
    path("tracks/<int:track_id>/rating/", views.rate, name="rate"),
]
