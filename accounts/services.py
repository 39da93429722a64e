"""Writes for accounts: sign-up, the demo login, tokens, deletion."""

from django.contrib.auth import get_user_model
from django.db import transaction

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "listen-to-bach"


@transaction.atomic
def demo_user_ensure() -> tuple[str, str]:
    """Create (once) the demo staff login printed by `make run`; return its credentials."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=DEMO_USERNAME,
        defaults={"email": "demo@example.com", "is_staff": True, "is_superuser": True},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return DEMO_USERNAME, DEMO_PASSWORD
