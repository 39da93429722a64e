"""accounts.services: sign-up validation and tokens."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_user_create_hashes_the_password():
    user = services.user_create(username=" gus ", email="Gus@Example.COM", password="tune-up-77")
    assert user.username == "gus" and user.email == "Gus@example.com"
    assert user.check_password("tune-up-77")


def test_user_create_leaves_nothing_behind_on_bad_input():
    UserFactory(username="gus")
    with pytest.raises(ValidationError) as raised:
        services.user_create(username="GUS", email="nope", password="gus")
    assert set(raised.value.message_dict) == {"username", "email", "password"}
    assert get_user_model().objects.count() == 1


def test_tokens_are_created_once_and_revoked():
    user = UserFactory()
    token = services.api_token_obtain(user=user)
    assert services.api_token_obtain(user=user) == token
    assert services.api_token_revoke(user=user) is True
    assert services.api_token_revoke(user=user) is False
