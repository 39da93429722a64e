"""Sign-up, login, logout, password change and reset, and the profile page."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import UserFactory, api_token

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def test_signup_creates_the_account_and_logs_in(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": "a-long-tune-9",
            "password2": "a-long-tune-9",
        },
    )
    assert response.status_code == 302 and response.url == reverse("home")
    user = get_user_model().objects.get(username="ada")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert b"Welcome, ada!" in client.get(reverse("accounts:profile")).content


def test_signup_goes_back_to_where_the_listener_was(client):
    data = {"username": "ada", "email": "a@example.com", "password1": "a-long-tune-9"}
    data |= {"password2": data["password1"], "next": "/tracks/"}
    assert client.post(reverse("accounts:signup"), data).url == "/tracks/"
    data |= {"username": "bea", "next": "https://evil.example/"}
    client.logout()
    assert client.post(reverse("accounts:signup"), data).url == reverse("home")


def test_signup_rejects_taken_username_and_weak_mismatched_passwords(client):
    UserFactory(username="ada")
    response = client.post(
        reverse("accounts:signup"),
        {"username": "ADA", "email": "not-an-email", "password1": "123", "password2": "124"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "The two passwords differ." in form.errors["password2"]
    assert "email" in form.errors
    assert get_user_model().objects.count() == 1
    response = client.post(
        reverse("accounts:signup"),
        {"username": "ADA", "email": "a@example.com", "password1": "123", "password2": "123"},
    )
    errors = response.context["form"].errors
    assert errors["username"] == ["That username is taken."]
    assert any("too short" in e for e in errors["password1"])


def test_login_and_logout_by_post(client):
    UserFactory(username="bob")
    response = client.post(
        reverse("accounts:login"), {"username": "bob", "password": PASSWORD}, follow=True
    )
    assert response.context["user"].is_authenticated
    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session


def test_login_page_explains_a_wrong_password(client):
    UserFactory(username="bob")
    response = client.post(reverse("accounts:login"), {"username": "bob", "password": "nope"})
    assert b"Please enter a correct username and password" in response.content


def test_password_change(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-melody-7",
            "new_password2": "a-new-melody-7",
        },
    )
    assert response.url == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password("a-new-melody-7")


def test_password_reset_by_email_link(client):
    user = UserFactory(email="cleo@example.com")
    client.post(reverse("accounts:password_reset"), {"email": "cleo@example.com"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["cleo@example.com"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form_page = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "fresh-start-42", "new_password2": "fresh-start-42"},
    )
    assert done.url == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("fresh-start-42")


def test_profile_requires_login_and_shows_the_account(client):
    assert client.get(reverse("accounts:profile")).status_code == 302
    user = UserFactory(username="dora")
    client.force_login(user)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "dora" in html and user.email in html and "No device is signed in." in html


def _works(token: str) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api.get("/api/v1/me/").status_code == 200


def test_profile_creates_a_token_shown_once(client):
    user = UserFactory()
    client.force_login(user)
    page = client.post(reverse("accounts:token_create"), {"name": "backup script"})
    assert page.status_code == 200
    token = page.context["new_token"]
    html = page.content.decode()
    assert token in html and "shown only this once" in html and "backup script" in html
    assert _works(token)
    again = client.get(reverse("accounts:profile")).content.decode()
    assert token not in again and "backup script" in again  # listed, never shown again


def test_profile_lists_devices_and_signs_one_or_all_out(client):
    user = UserFactory()
    phone, tablet, laptop = (api_token(user, name) for name in ("Pixel 8", "iPad", "laptop"))
    other = api_token(UserFactory(), "not yours")
    client.force_login(user)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert all(name in html for name in ("Pixel 8", "iPad", "laptop"))
    assert "not yours" not in html
    ipad = ApiToken.objects.get(user=user, name="iPad")
    client.post(reverse("accounts:token_revoke", args=[ipad.pk]))
    assert not _works(tablet) and _works(phone)
    mine_not = ApiToken.objects.get(name="not yours")
    client.post(reverse("accounts:token_revoke", args=[mine_not.pk]))
    assert _works(other)  # another listener's device is out of reach
    page = client.post(reverse("accounts:tokens_revoke_all"), follow=True).content.decode()
    assert "Every device was signed out." in page
    assert not _works(phone) and not _works(laptop) and _works(other)
    assert client.get(reverse("accounts:token_create")).status_code == 405


def test_password_change_signs_other_browsers_out(client):
    user = UserFactory()
    other = type(client)()
    other.force_login(user)
    client.force_login(user)
    client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-melody-7",
            "new_password2": "a-new-melody-7",
        },
    )
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert other.get(reverse("accounts:profile")).status_code == 302


def test_profile_links_only_to_data_pages_that_exist(client):
    client.force_login(UserFactory())
    html = client.get(reverse("accounts:profile")).content.decode()
    for name in ("listening:history", "accounts:export", "accounts:account_delete"):
        try:
            url = reverse(name)
        except Exception:  # not added yet by the listening app
            continue
        assert f'href="{url}"' in html
