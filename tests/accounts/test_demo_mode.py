"""Accounts with published passwords exist only in demo mode; production's first admin comes
from the operator (``createsuperuser`` or ``DJANGO_SUPERUSER_*``)."""

import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.services import DEMO_PASSWORD, DEMO_USERNAME
from recommender.listening.demo_listeners import TASTES
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db

PUBLISHED = [(DEMO_USERNAME, DEMO_PASSWORD)] + [(t.username, t.password) for t in TASTES]
COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yml"


def _signs_in() -> list[str]:
    """The published logins that an active account still accepts."""
    users = {u.username: u for u in get_user_model().objects.filter(is_active=True)}
    return [u for u, p in PUBLISHED if u in users and users[u].check_password(p)]


def _password_ok(username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


def _migrate_service_commands() -> list[list[str]]:
    """The ``manage.py`` invocations of the compose ``migrate`` service, in order."""
    command = yaml.safe_load(COMPOSE.read_text())["services"]["migrate"]["command"]
    script = command[-1] if command[:2] == ["sh", "-c"] else shlex.join(command)
    invocations = []
    for part in script.split("&&"):
        words = shlex.split(part)
        assert words[:2] == ["python", "manage.py"], part
        invocations.append(words[2:])
    return invocations


@pytest.fixture
def empty_site(monkeypatch):
    for var in ("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    assert not get_user_model().objects.exists()


def test_demo_mode_is_off_unless_asked():
    assert settings.DEMO_MODE is False


def test_the_compose_migrate_service_creates_no_published_login(empty_site, capsys):
    for argv in _migrate_service_commands():
        call_command(*argv)
    assert _signs_in() == []
    assert not get_user_model().objects.filter(is_superuser=True).exists()
    assert "createsuperuser" in capsys.readouterr().out  # it says how to get the first admin


def test_the_migrate_service_creates_the_first_admin_from_the_environment(empty_site, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "owner")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "owner@example.org")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long and private passphrase")
    for _ in range(2):  # every boot runs it; the second changes nothing
        for argv in _migrate_service_commands():
            call_command(*argv)
    owner = get_user_model().objects.get()
    assert (owner.username, owner.is_superuser, owner.is_staff) == ("owner", True, True)
    assert _password_ok("owner", "a long and private passphrase")

    owner.set_password("changed by the operator later")
    owner.save()
    for argv in _migrate_service_commands():
        call_command(*argv)  # a later boot never resets it
    assert _password_ok("owner", "changed by the operator later")


def test_a_weak_first_admin_password_is_refused(empty_site, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "owner")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", DEMO_PASSWORD)
    with pytest.raises(CommandError, match="DJANGO_SUPERUSER_PASSWORD"):
        call_command("bootstrap_accounts")
    assert not get_user_model().objects.exists()


def test_setup_demo_outside_demo_mode_creates_no_published_login(empty_site, capsys):
    TrackFactory.create_batch(3)  # a catalog: demo listeners would have something to hear
    call_command("setup_demo", "--limit", "0")
    assert _signs_in() == []
    assert not get_user_model().objects.exists()
    assert "DJANGO_DEMO_MODE" in capsys.readouterr().out


def test_seed_demo_listeners_outside_demo_mode_is_refused(empty_site):
    TrackFactory.create_batch(3)
    with pytest.raises(CommandError, match="DJANGO_DEMO_MODE"):
        call_command("seed_demo_listeners")
    assert not get_user_model().objects.exists()


def test_setup_demo_in_demo_mode_prints_the_demo_login(settings, empty_site, capsys):
    settings.DEMO_MODE = True
    call_command("setup_demo", "--limit", "0")
    assert f"{DEMO_USERNAME} / {DEMO_PASSWORD}" in capsys.readouterr().out
    assert _signs_in() == [DEMO_USERNAME]  # no catalog here: no demo listeners either


def test_published_logins_left_from_demo_mode_stop_working_outside_it(settings, empty_site):
    settings.DEMO_MODE = True
    call_command("setup_demo", "--limit", "0")
    assert _signs_in() == [DEMO_USERNAME]
    settings.DEMO_MODE = False
    for argv in _migrate_service_commands():
        call_command(*argv)
    assert _signs_in() == []
    assert get_user_model().objects.filter(username=DEMO_USERNAME).exists()  # kept, locked
