"""Reads for accounts: the signed-in devices (API tokens) and the links other apps provide."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import ApiToken

# The pages of a listener's own data (the history is the listening app's); the profile links
# to those whose URL name resolves.
PROFILE_DATA_LINKS = (
    ("listening:history", "Listening history"),
    ("accounts:export", "Export my data"),
    ("accounts:account_delete", "Delete my account"),
)


def api_tokens_of(*, user) -> QuerySet[ApiToken]:
    """``user``'s signed-in devices (unexpired API tokens), the most recently used first."""
    return (
        ApiToken.objects.filter(user=user, expiry__gt=timezone.now())
        .defer("digest")
        .order_by(F("last_used_at").desc(nulls_last=True), "-created", "-id")
    )


def profile_data_links() -> list[tuple[str, str]]:
    """(url, label) for each of the data pages whose URL name resolves."""
    links = []
    for name, label in PROFILE_DATA_LINKS:
        try:
            links.append((reverse(name), label))
        except NoReverseMatch:
            continue
    return links
