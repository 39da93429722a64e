"""HTML pages of the generator app."""

app_name = "generator"

urlpatterns: list = []
