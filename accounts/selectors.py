"""Reads for accounts: the profile page's API token and the links other apps provide."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from rest_framework.authtoken.models import Token

# Pages other apps add for a listener's own data; shown on the profile once they exist.
PROFILE_DATA_LINKS = (
    ("recommender:history", "Listening history"),
    ("recommender:export", "Export my data"),
    ("recommender:account_delete", "Delete my account"),
)


def api_token_get(*, user) -> Token | None:
    """The user's API token, or None if they have none."""
    return Token.objects.filter(user=user).first()


def profile_data_links() -> list[tuple[str, str]]:
    """(url, label) for each of the data pages whose URL name resolves."""
    links = []
    for name, label in PROFILE_DATA_LINKS:
        try:
            links.append((reverse(name), label))
        except NoReverseMatch:
            continue
    return links
