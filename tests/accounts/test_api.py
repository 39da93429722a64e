"""Token authentication for mobile clients: obtain, revoke, sign up, me (devices: test_tokens)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import UserFactory, api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_obtain_token_and_use_it(api):
    UserFactory(username="eve")
    response = api.post(
        "/api/v1/auth/token/", {"username": "eve", "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    body = response.json()
    token = body["token"]
    assert body["user"]["username"] == "eve" and body["expires"] == body["device"]["expires"]
    assert body["device"]["current"] is True and body["device"]["name"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").json()["username"] == "eve"


def test_bad_credentials_are_a_clear_401(api):
    UserFactory(username="eve")
    response = api.post("/api/v1/auth/token/", {"username": "eve", "password": "wrong"})
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    error = response.json()["error"]
    assert error["code"] == "invalid_credentials"
    assert "username and password" in error["message"]
    missing = api.post("/api/v1/auth/token/", {"username": "eve"})
    assert missing.status_code == 400 and "password" in missing.json()["error"]["fields"]
    spaces = api.post(
        "/api/v1/auth/token/", {"username": "\u0085 ", "password": "x"}, format="json"
    )
    assert spaces.status_code == 401  # no account has a blank name: wrong credentials


def test_revoke_token(api):
    user = UserFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert not ApiToken.objects.filter(user=user).exists()
    assert api.get("/api/v1/me/").status_code == 401
    api.credentials()
    assert api.delete("/api/v1/auth/token/").status_code == 401


def test_signup_returns_a_token(api):
    response = api.post(
        "/api/v1/auth/signup/",
        {
            "username": "fay",
            "email": "fay@example.com",
            "password": "a-long-tune-9",
            "device": "Fay's phone",
        },
    )
    assert response.status_code == 201
    assert response.json()["device"]["name"] == "Fay's phone"
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/me/").json()["email"] == "fay@example.com"


def test_signup_names_each_bad_field(api):
    UserFactory(username="fay")
    response = api.post(
        "/api/v1/auth/signup/", {"username": "Fay", "email": "fay@example.com", "password": "1"}
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["username"] == ["That username is taken."]
    assert "password" in fields


def test_me_requires_authentication(api):
    assert api.get("/api/v1/me/").status_code == 401
