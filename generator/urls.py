"""HTML pages of the generator app."""

from django.urls import path

from generator import views

app_name = "generator"

urlpatterns = [
    path("make/", views.create, name="create"),
    path("make/jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("make/jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
]
