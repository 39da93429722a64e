"""Writes for accounts: sign-up, the demo login, API tokens. Deleting an account is
``accounts.deletion``; the library's writes are in ``accounts.library``."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.demo_mode import demo_mode_require
from accounts.models import ApiToken

logger = logging.getLogger(__name__)

DEVICE_NAME_MAX_LENGTH: int = ApiToken._meta.get_field("name").max_length  # type: ignore[assignment]

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "listen-to-bach"


@transaction.atomic
def demo_user_ensure() -> tuple[str, str]:
    """Create (once) the demo staff login printed by `make run`; return its credentials.

    Demo mode only (``DemoModeOff`` otherwise): its password is published."""
    demo_mode_require(what=f"The demo login {DEMO_USERNAME!r}")
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=DEMO_USERNAME,
        defaults={"email": "demo@example.com", "is_staff": True, "is_superuser": True},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return DEMO_USERNAME, DEMO_PASSWORD


@transaction.atomic
def user_create(*, username: str, email: str, password: str):
    """Create a listener account; raise ``ValidationError`` naming each bad field.

    Usernames are unique regardless of case; the password must pass the site's validators.
    """
    User = get_user_model()
    username = User.normalize_username(username.strip())
    email = User.objects.normalize_email(email.strip())
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["Choose a username."]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["That username is taken."]
    if not email:
        errors["email"] = ["Enter an e-mail address."]
    else:
        try:
            validate_email(email)
        except ValidationError as exc:
            errors["email"] = list(exc.messages)
    try:
        validate_password(password, user=User(username=username, email=email))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = User(username=username, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    logger.info("user %s signed up", user.pk)
    return user


def device_name_default(*, user_agent: str) -> str:
    """The name of a device that gave none: its User-Agent, cut to fit (or "API client")."""
    name = " ".join(user_agent.split())
    return name[:DEVICE_NAME_MAX_LENGTH] or "API client"


@transaction.atomic
def api_token_create(*, user, device: str) -> tuple[ApiToken, str]:
    """Sign ``device`` in: a new token replacing the one that device had; the row and the token.

    The token itself is returned only here (the database keeps its digest). The user's expired
    tokens are deleted, and beyond ``API_TOKEN_MAX_DEVICES`` the least recently used ones.
    """
    tokens = ApiToken.objects.filter(user=user)
    tokens.filter(Q(name=device) | Q(expiry__lt=timezone.now())).delete()
    keep = settings.API_TOKEN_MAX_DEVICES - 1
    stale = tokens.order_by(F("last_used_at").desc(nulls_last=True), "-created", "-id")[keep:]
    ApiToken.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    row, token = ApiToken.objects.create(user=user, name=device[:DEVICE_NAME_MAX_LENGTH])
    logger.info("user %s signed in device %s", user.pk, row.pk)
    return row, token


@transaction.atomic
def api_token_revoke(*, user, device_id: int) -> bool:
    """Revoke ``user``'s token of device ``device_id``; False if they have no such device."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=device_id).delete()
    if deleted:
        logger.info("user %s revoked device %s", user.pk, device_id)
    return bool(deleted)


def api_tokens_revoke_all(*, user) -> int:
    """Revoke every API token of ``user`` (all their devices sign in again); how many."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    if deleted:
        logger.info("user %s: %d API tokens revoked", user.pk, deleted)
    return deleted
