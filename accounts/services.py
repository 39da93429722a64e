"""Writes for accounts: sign-up, the demo login, tokens, deletion."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.demo_mode import demo_mode_require

logger = logging.getLogger(__name__)

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


@transaction.atomic
def api_token_obtain(*, user) -> Token:
    """The user's API token, created on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def api_token_regenerate(*, user) -> tuple[Token, bool]:
    """Revoke the user's API token (if any) and issue a new one; the token, and whether an
    older one was revoked."""
    revoked, _ = Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    logger.info("user %s regenerated the API token", user.pk)
    return token, bool(revoked)


@transaction.atomic
def api_token_revoke(*, user) -> bool:
    """Delete the user's API token; True if there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        logger.info("user %s revoked the API token", user.pk)
    return bool(deleted)
