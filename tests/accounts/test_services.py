"""accounts.services: sign-up validation and API tokens."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken
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


def test_a_device_token_is_replaced_on_sign_in_and_revoked():
    user = UserFactory()
    first, token = services.api_token_create(user=user, device="Pixel 8")
    assert token.startswith(first.token_key) and token not in first.digest
    second, _ = services.api_token_create(user=user, device="Pixel 8")
    assert list(ApiToken.objects.filter(user=user)) == [second]
    assert services.api_token_revoke(user=user, device_id=second.pk) is True
    assert services.api_token_revoke(user=user, device_id=second.pk) is False


def test_sign_in_purges_expired_tokens_and_keeps_the_device_cap(settings):
    settings.API_TOKEN_MAX_DEVICES = 3
    user = UserFactory()
    expired, _ = services.api_token_create(user=user, device="old phone")
    ApiToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    rows = [services.api_token_create(user=user, device=f"device {i}")[0] for i in range(4)]
    names = set(ApiToken.objects.filter(user=user).values_list("name", flat=True))
    assert names == {"device 1", "device 2", "device 3"}  # the least recently used went
    assert rows[0].name == "device 0"


def test_device_names_default_to_the_user_agent():
    assert services.device_name_default(user_agent="  App/1.0\n(iOS)  ") == "App/1.0 (iOS)"
    assert services.device_name_default(user_agent="") == "API client"
    assert len(services.device_name_default(user_agent="x" * 500)) == 100
