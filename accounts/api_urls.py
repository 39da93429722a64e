"""REST API endpoints of the accounts app (mounted under /api/v1/)."""

from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/token/", api.AuthTokenApi.as_view(), name="api-auth-token"),
    path("auth/devices/", api.DeviceListApi.as_view(), name="api-auth-devices"),
    path("auth/devices/<int:pk>/", api.DeviceRevokeApi.as_view(), name="api-auth-device"),
    path("auth/signup/", api.SignupApi.as_view(), name="api-auth-signup"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("me/export/", api.MeExportApi.as_view(), name="api-me-export"),
]
