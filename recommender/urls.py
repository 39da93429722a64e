"""HTML pages of the recommender app."""

app_name = "recommender"

urlpatterns: list = []
