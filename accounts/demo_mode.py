"""Demo mode (``DJANGO_DEMO_MODE``, on under `make run`): the only place where accounts with
published passwords (the demo login, the demo listeners) are created or keep working."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model


class DemoModeOff(Exception):
    """An account with a published password was asked for outside demo mode."""


def demo_mode_require(*, what: str) -> None:
    """Raise ``DemoModeOff`` naming ``what`` unless demo mode is on."""
    if not settings.DEMO_MODE:
        raise DemoModeOff(
            f"{what} would have a published password, so it is created only in demo mode "
            "(DJANGO_DEMO_MODE=true, as `make run` sets)."
        )


def published_logins() -> list[tuple[str, str]]:
    """Every (username, password) pair the README or `make run` publishes."""
    from accounts.services import DEMO_PASSWORD, DEMO_USERNAME
    from recommender.listening.demo_listeners import (
        TASTES,  # the demo listeners (recommender builds on accounts)
    )

    return [(DEMO_USERNAME, DEMO_PASSWORD)] + [(t.username, t.password) for t in TASTES]


def published_logins_disable() -> list[str]:
    """Outside demo mode, give an unusable password to every account that still signs in with a
    published one (left by an earlier demo run); return their usernames. The accounts and their
    data stay."""
    if settings.DEMO_MODE:
        return []
    passwords = dict(published_logins())
    disabled = []
    for user in get_user_model().objects.filter(username__in=passwords):
        if user.check_password(passwords[user.get_username()]):
            user.set_unusable_password()
            user.save(update_fields=["password"])
            disabled.append(user.get_username())
    return disabled
