"""REST API endpoints of the generator app (mounted under /api/v1/)."""

from django.urls import path

from generator import api

urlpatterns = [
    path("generation-jobs/", api.GenerationJobCreateApi.as_view(), name="api-generation-jobs"),
    path(
        "generation-jobs/<int:job_id>/",
        api.GenerationJobDetailApi.as_view(),
        name="api-generation-job-detail",
    ),
    path(
        "generation-jobs/<int:job_id>/cancel/",
        api.GenerationJobCancelApi.as_view(),
        name="api-generation-job-cancel",
    ),
]
