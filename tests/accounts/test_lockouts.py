"""Sign-in lockouts (django-axes): per account and address, per address, per account."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"


def _post(client, path, username, password, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return client.post(path, {"username": username, "password": password}, **extra)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("rotate_forwarded", [False, True], ids=["one-address", "new-xff-each"])
@pytest.mark.parametrize("path", [LOGIN, "/admin/login/"])
def test_thirty_wrong_passwords_are_refused_early_and_then_the_right_one_too(
    path, rotate_forwarded
):
    UserFactory(username="carol", is_staff=True)
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = []
    for i in range(30):
        forwarded = f"10.9.{i}.1" if rotate_forwarded else None
        statuses.append(_post(client, path, "carol", f"guess-{i}", forwarded).status_code)
    assert statuses[:4] == [200] * 4  # the form again, saying the password was wrong
    assert set(statuses[4:]) == {429}  # from the 5th on
    right = _post(client, path, "carol", PASSWORD, "10.9.99.1" if rotate_forwarded else None)
    assert right.status_code == 429
    assert not _signed_in(client)
    assert right["Retry-After"] == "900"
    assert b"Too many failed sign-ins. Try again in 15 minutes." in right.content


def test_a_locked_account_still_opens_from_its_owners_address():
    """Per account and address: a stranger's guesses do not lock the owner out."""
    UserFactory(username="carol")
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(6):
        _post(stranger, LOGIN, "carol", f"guess-{i}")
    assert _post(stranger, LOGIN, "carol", PASSWORD).status_code == 429
    owner = Client(REMOTE_ADDR="198.51.100.20")
    assert _post(owner, LOGIN, "carol", PASSWORD).status_code == 302
    assert _signed_in(owner)


def test_one_address_trying_many_accounts_is_locked(settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 6
    for i in range(7):
        UserFactory(username=f"user{i}")
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [_post(client, LOGIN, f"user{i}", "Summer2026!").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    assert _post(client, LOGIN, "user6", PASSWORD).status_code == 429  # an untried account too
    other = Client(REMOTE_ADDR="198.51.100.20")
    assert _post(other, LOGIN, "user0", PASSWORD).status_code == 302


def test_many_addresses_guessing_one_account_lock_it_except_where_it_signed_in_before(settings):
    settings.SIGNIN_FAILURES_PER_ACCOUNT = 8
    UserFactory(username="carol")
    home = Client(REMOTE_ADDR="198.51.100.20")
    assert _post(home, LOGIN, "carol", PASSWORD).status_code == 302
    home.logout()
    statuses = [
        _post(Client(REMOTE_ADDR=f"203.0.113.{i}"), LOGIN, "carol", "guess").status_code
        for i in range(8)
    ]
    assert statuses == [200] * 7 + [429]
    assert _post(Client(REMOTE_ADDR="192.0.2.1"), LOGIN, "carol", PASSWORD).status_code == 429
    assert _post(home, LOGIN, "carol", PASSWORD).status_code == 302  # the owner's usual address


def test_the_lock_lifts_when_the_failures_age_past_the_cool_off():
    UserFactory(username="carol")
    client = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(5):
        _post(client, LOGIN, "carol", f"guess-{i}")
    assert _post(client, LOGIN, "carol", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert _post(client, LOGIN, "carol", PASSWORD).status_code == 302


def test_the_api_token_endpoint_shares_the_lock_and_answers_in_the_api_format():
    UserFactory(username="carol")
    api = Client(REMOTE_ADDR="203.0.113.9")
    token = "/api/v1/auth/token/"
    statuses = [
        api.post(token, {"username": "carol", "password": f"guess-{i}"}).status_code
        for i in range(4)
    ]
    assert statuses == [401] * 4
    assert _post(api, LOGIN, "carol", "guess-5").status_code == 429  # the page's 5th failure
    response = api.post(token, {"username": "carol", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert "Try again in 15 minutes" in response.json()["error"]["message"]
    assert response["Retry-After"] == "900"


def test_one_address_hammering_a_locked_account_does_not_lock_it_for_everyone():
    """Refused attempts are not counted: one address adds at most 5 to the account's budget of
    50 from all addresses, so it cannot lock the account for every stranger alone."""
    UserFactory(username="carol")
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [_post(stranger, LOGIN, "carol", f"guess-{i}").status_code for i in range(60)]
    assert statuses.count(429) == 56
    assert _post(Client(REMOTE_ADDR="192.0.2.1"), LOGIN, "carol", PASSWORD).status_code == 302
