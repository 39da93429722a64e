"""The lean token lookup behaves as DRF's: same user, same values, same refusals."""

from datetime import datetime

import pytest
from rest_framework.authentication import TokenAuthentication as DRFTokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from accounts.authentication import TokenAuthentication
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_token_gives_the_same_user_and_values_as_drf():
    user = UserFactory(username="ada", is_staff=True)
    key = Token.objects.create(user=user).key
    ours, token = TokenAuthentication().authenticate_credentials(key)
    theirs, their_token = DRFTokenAuthentication().authenticate_credentials(key)
    assert ours.pk == user.pk and token.key == key and token.user is ours
    assert not token._state.adding  # a loaded row: request.auth.delete() revokes it
    assert token.created == their_token.created
    for field in type(user)._meta.concrete_fields:
        assert getattr(ours, field.attname) == getattr(theirs, field.attname), field.name
    assert ours.is_staff is True and isinstance(ours.date_joined, datetime)


def test_unknown_and_inactive_tokens_are_refused_with_drf_messages():
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        TokenAuthentication().authenticate_credentials("0" * 40)
    key = Token.objects.create(user=UserFactory(is_active=False)).key
    with pytest.raises(AuthenticationFailed, match="inactive or deleted"):
        TokenAuthentication().authenticate_credentials(key)


def test_api_answers_a_bad_token_with_401_in_the_error_format():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "f" * 40)
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert "Invalid token" in response.json()["error"]["message"]
