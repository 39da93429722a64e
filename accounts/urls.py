"""HTML pages of the accounts app."""

app_name = "accounts"

urlpatterns: list = []
