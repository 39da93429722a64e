"""A production site's first admin, created from the operator's own credentials."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.demo_mode import published_logins


@transaction.atomic
def superuser_ensure(*, username: str, email: str, password: str) -> bool:
    """Create the superuser ``username`` unless that account exists (then nothing changes, its
    password included); return whether it was created.

    The password must pass the site's validators and be none of the published demo passwords;
    ``ValidationError`` otherwise.
    """
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        return False
    if password in {p for _, p in published_logins()}:
        raise ValidationError("This password is published (a demo login's); choose your own.")
    validate_password(password, user=User(username=username, email=email))
    User.objects.create_superuser(username=username, email=email, password=password)
    return True


def superuser_exists() -> bool:
    """Whether any active superuser can sign in with a password."""
    users = get_user_model().objects.filter(is_superuser=True, is_active=True)
    return any(user.has_usable_password() for user in users)
