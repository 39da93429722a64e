"""Token authentication (knox's, with throttled refreshes): who a token signs in, and refusals."""

import pytest
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from accounts.authentication import TokenAuthentication
from accounts.models import ApiToken
from tests.factories import UserFactory, api_token

pytestmark = pytest.mark.django_db


def test_a_token_signs_its_user_in_with_its_row():
    user = UserFactory(username="ada", is_staff=True)
    token = api_token(user, device="Pixel 8")
    who, row = TokenAuthentication().authenticate_credentials(token.encode())
    assert who.pk == user.pk and who.is_staff is True
    assert isinstance(row, ApiToken) and row.name == "Pixel 8" and row.user is who
    assert not row._state.adding  # a loaded row: request.auth.delete() revokes it


def test_unknown_inactive_and_revoked_tokens_are_refused():
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        TokenAuthentication().authenticate_credentials(b"0" * 64)
    token = api_token(UserFactory(is_active=False))
    with pytest.raises(AuthenticationFailed, match="inactive or deleted"):
        TokenAuthentication().authenticate_credentials(token.encode())
    user = UserFactory()
    token = api_token(user)
    ApiToken.objects.filter(user=user).delete()
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        TokenAuthentication().authenticate_credentials(token.encode())


def test_api_answers_a_bad_token_with_401_in_the_error_format():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "f" * 64)
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert "Invalid token" in response.json()["error"]["message"]
    assert response["WWW-Authenticate"] == "Token"
