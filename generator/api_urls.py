"""REST API endpoints of the generator app (mounted under /api/v1/)."""

urlpatterns: list = []
