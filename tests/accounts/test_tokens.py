"""API tokens as a mobile developer and an attacker see them: hashed at rest, one per device,
expiring when idle, revoked by every kind of password change, never shown by the admin."""

import re
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.auth.management.commands import changepassword
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-new-melody-7"


def sign_in(username: str = "eve", device: str | None = None, **headers) -> str:
    data = {"username": username, "password": PASSWORD}
    if device is not None:
        data["device"] = device
    response = APIClient(**headers).post("/api/v1/auth/token/", data)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def works(token: str) -> bool:
    return with_token(token).get("/api/v1/me/").status_code == 200


@contextmanager
def travel(**delta):
    """Run the block ``delta`` (timedelta's arguments) from now."""
    later = timezone.now() + timedelta(**delta)
    with mock.patch("django.utils.timezone.now", return_value=later):
        yield


def string_cells(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return [cell for row in cursor.fetchall() for cell in row if isinstance(cell, str)]


@pytest.fixture
def eve():
    return UserFactory(username="eve")


# At rest: nothing in the database signs anyone in.


def test_the_database_holds_no_usable_token(eve):
    token = sign_in()
    tables = connection.introspection.table_names()
    assert not [t for t in tables if any(token in cell for cell in string_cells(t))]
    token_tables = [t for t in tables if "token" in t]
    assert token_tables  # the hashed rows are somewhere
    for table in token_tables:
        for cell in string_cells(table):
            assert not works(cell), f"{table} holds a usable token"


def test_the_admin_shows_no_usable_token(client, eve):
    tokens = [sign_in(device="Pixel 8"), sign_in(device="iPad")]
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    pages = []
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        pages.append(changelist)
        for pk in model._default_manager.values_list("pk", flat=True)[:5]:
            try:
                pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))
            except NoReverseMatch:
                continue
    for page in pages:
        html = client.get(page).content.decode()
        assert not [t for t in tokens if t in html], page


# Per device.


def test_each_device_gets_its_own_token_and_lists_the_others(eve):
    phone = sign_in(device="Pixel 8")
    tablet = sign_in(device="iPad")
    assert phone != tablet and works(phone) and works(tablet)
    response = with_token(phone).get("/api/v1/auth/devices/")
    assert response.status_code == 200
    devices = response.json()["results"]
    assert {d["name"]: d["current"] for d in devices} == {"Pixel 8": True, "iPad": False}
    for device in devices:
        assert set(device) >= {"id", "name", "created", "last_used", "expires", "current"}
        assert phone not in str(device) and tablet not in str(device)


def test_a_device_revokes_another_and_no_one_elses(eve):
    phone = sign_in(device="Pixel 8")
    tablet = sign_in(device="iPad")
    UserFactory(username="mallory")
    mallory = sign_in("mallory", device="laptop")
    devices = with_token(phone).get("/api/v1/auth/devices/").json()["results"]
    ipad = next(d["id"] for d in devices if d["name"] == "iPad")
    assert with_token(mallory).delete(f"/api/v1/auth/devices/{ipad}/").status_code == 404
    assert works(tablet)
    assert with_token(phone).delete(f"/api/v1/auth/devices/{ipad}/").status_code == 204
    assert not works(tablet) and works(phone) and works(mallory)
    gone = with_token(phone).delete(f"/api/v1/auth/devices/{ipad}/")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert with_token(phone).delete("/api/v1/auth/devices/x/").status_code == 404
    huge = with_token(phone).delete(f"/api/v1/auth/devices/{2**64}/")  # past any database's ids
    assert huge.status_code == 404 and huge.json()["error"]["code"] == "not_found"


def test_signing_out_revokes_only_this_device(eve):
    phone = sign_in(device="Pixel 8")
    tablet = sign_in(device="iPad")
    assert with_token(phone).delete("/api/v1/auth/token/").status_code == 204
    assert not works(phone) and works(tablet)


def test_signing_in_again_on_a_device_replaces_its_token(eve):
    first = sign_in(device="Pixel 8")
    second = sign_in(device="Pixel 8")
    assert not works(first) and works(second)
    names = [d["name"] for d in with_token(second).get("/api/v1/auth/devices/").json()["results"]]
    assert names == ["Pixel 8"]


def test_an_unnamed_device_is_named_after_its_user_agent(eve):
    token = sign_in(HTTP_USER_AGENT="MusicApp/2.1 (iPhone; iOS 18.1)")
    devices = with_token(token).get("/api/v1/auth/devices/").json()["results"]
    assert devices[0]["name"] == "MusicApp/2.1 (iPhone; iOS 18.1)"
    too_long = APIClient().post(
        "/api/v1/auth/token/", {"username": "eve", "password": PASSWORD, "device": "x" * 101}
    )
    assert too_long.status_code == 400 and "device" in too_long.json()["error"]["fields"]


def test_device_endpoints_need_a_token(eve):
    client = APIClient()
    assert client.get("/api/v1/auth/devices/").status_code == 401
    assert client.delete("/api/v1/auth/devices/1/").status_code == 401


# Lifetime.


def test_a_token_expires_after_days_without_use(eve, settings):
    idle = settings.API_TOKEN_IDLE_DAYS
    token = sign_in()
    with travel(days=idle - 1):
        assert works(token)  # this use moves the expiry on
    with travel(days=2 * idle - 2):
        assert works(token)
    with travel(days=3 * idle):
        assert not works(token)
        assert works(sign_in())  # signing in again gives a new one


def test_a_token_lives_at_most_the_absolute_cap(eve, settings):
    idle, cap = settings.API_TOKEN_IDLE_DAYS, settings.API_TOKEN_MAX_DAYS
    token = sign_in()
    day = 0
    while day + idle - 1 < cap:
        day += idle - 1
        with travel(days=day):
            assert works(token), day
    with travel(days=cap + 1):
        assert not works(token)


def test_using_a_token_writes_at_most_once_in_a_while(eve, django_assert_num_queries):
    token = sign_in()
    client = with_token(token)
    assert client.get("/api/v1/me/").status_code == 200
    with django_assert_num_queries(1):  # the lookup; no write of the expiry
        assert client.get("/api/v1/me/").status_code == 200
    devices = client.get("/api/v1/auth/devices/").json()["results"]
    assert devices[0]["last_used"] is not None


@pytest.mark.parametrize("token", ["\xff\xfe", "abc\x00def", "a" * 5000, "é" * 20])
def test_a_malformed_token_is_a_401(eve, token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["error"]["code"]


# Password changes sign every device out.


@pytest.fixture
def devices(eve):
    return [sign_in(device="Pixel 8"), sign_in(device="iPad")]


def test_profile_password_change_revokes_every_token(client, eve, devices):
    client.force_login(eve)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not any(works(t) for t in devices)
    assert client.get(reverse("accounts:profile")).status_code == 200  # this browser stays in


def test_password_reset_revokes_every_token(client, eve, devices):
    client.post(reverse("accounts:password_reset"), {"email": eve.email})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+)", mail.outbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    eve.refresh_from_db()
    assert eve.check_password(NEW_PASSWORD)
    assert not any(works(t) for t in devices)


def test_admin_password_change_revokes_every_token(client, eve, devices):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:auth_user_password_change", args=[eve.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:500]
    assert not any(works(t) for t in devices)


def test_admin_disabling_password_sign_in_revokes_every_token(client, eve, devices):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:auth_user_password_change", args=[eve.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )
    assert response.status_code == 302, response.content[:500]
    eve.refresh_from_db()
    assert not eve.has_usable_password()
    assert not any(works(t) for t in devices)


def test_changepassword_command_revokes_every_token_and_session(client, eve, devices):
    client.force_login(eve)
    with mock.patch.object(changepassword.Command, "_get_pass", return_value=NEW_PASSWORD):
        call_command("changepassword", "eve", stdout=mock.Mock())
    assert not any(works(t) for t in devices)
    assert client.get(reverse("accounts:profile")).status_code == 302  # the session is gone too


def test_a_hash_upgrade_at_sign_in_is_not_a_password_change(eve, devices, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",  # MD5 hashes are upgraded
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    old_hash = eve.password
    sign_in(device="laptop")
    eve.refresh_from_db()
    assert eve.password != old_hash
    assert all(works(t) for t in devices)


def test_the_schema_documents_devices_with_the_error_format(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    listing = paths["/api/v1/auth/devices/"]["get"]
    revoke = paths["/api/v1/auth/devices/{id}/"]["delete"]
    error = {"$ref": "#/components/schemas/Error"}
    assert revoke["responses"]["404"]["content"]["application/json"]["schema"] == error
    assert "204" in revoke["responses"] and "200" in listing["responses"]
    components = schema["components"]["schemas"]
    assert "device" in components["AuthTokenInputRequest"]["properties"]
    assert {"id", "name", "last_used", "expires", "current"} <= set(
        components["DeviceOutput"]["properties"]
    )
