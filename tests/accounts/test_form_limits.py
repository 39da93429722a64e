"""Sign-up per address; password reset per address and per e-mail typed."""

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SIGNUP = "/accounts/signup/"
RESET = "/accounts/password/reset/"


def _signup(client, i, **extra):
    password = "a-long-tune-9"
    data = {"username": f"u{i}", "email": f"u{i}@example.com"}
    data |= {"password1": password, "password2": password}
    response = client.post(SIGNUP, data, **extra)
    client.logout()
    return response


@pytest.mark.parametrize("rotate_forwarded", [False, True], ids=["one-address", "new-xff-each"])
def test_thirty_sign_ups_from_one_address_stop_at_the_limit(rotate_forwarded):
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = []
    for i in range(30):
        extra = {"HTTP_X_FORWARDED_FOR": f"10.4.{i}.1"} if rotate_forwarded else {}
        statuses.append(_signup(client, i, **extra).status_code)
    assert statuses == [302] * 10 + [429] * 20
    refused = _signup(client, 99)
    assert refused["Retry-After"] == "3600"
    assert b"Too many sign-ups from your address. Try again in 60 minutes." in refused.content
    assert _signup(Client(REMOTE_ADDR="198.51.100.20"), 100).status_code == 302
    assert client.get(SIGNUP).status_code == 200  # the form still shows


def test_the_api_sign_up_spends_from_the_same_budget():
    for i in range(10):
        assert _signup(Client(REMOTE_ADDR="203.0.113.9"), i).status_code == 302
    api = APIClient(REMOTE_ADDR="203.0.113.9")
    response = api.post(
        "/api/v1/auth/signup/",
        {"username": "late", "email": "late@example.com", "password": "a-long-tune-9"},
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 3000


def test_twenty_reset_requests_for_one_e_mail_send_three_mails():
    UserFactory(email="carol@example.com")
    statuses = [
        Client(REMOTE_ADDR=f"203.0.113.{i}")
        .post(RESET, {"email": "Carol@Example.com "})
        .status_code
        for i in range(20)
    ]
    assert statuses == [302] * 3 + [429] * 17
    assert len(mail.outbox) == 3


def test_reset_requests_from_one_address_stop_at_the_limit():
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [client.post(RESET, {"email": f"x{i}@example.com"}).status_code for i in range(12)]
    assert statuses == [302] * 10 + [429] * 2


def test_the_reset_page_says_nothing_about_which_e_mails_have_an_account():
    UserFactory(email="carol@example.com")

    def answers(email):
        client = Client(REMOTE_ADDR="198.51.100.20")
        seen = [client.post(RESET, {"email": email}) for _ in range(4)]
        return [(r.status_code, r.get("Location"), r.get("Retry-After")) for r in seen]

    assert answers("carol@example.com") == answers("nobody@example.com")
