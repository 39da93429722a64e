"""DRF tokens of clients signed in before the upgrade become hashed tokens that still work."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # a schema editor, as migrate uses
migration = importlib.import_module("accounts.migrations.0003_apitoken_from_drf_tokens")
KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # a DRF token: 40 hex characters


def _drf_table_with(user_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, '
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
            if connection.vendor == "postgresql"
            else 'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, '
            "created datetime NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, CURRENT_TIMESTAMP, %s)", [KEY, user_id]
        )
    MigrationRecorder(connection).record_applied("authtoken", "0001_initial")


def test_drf_tokens_become_hashed_tokens_and_the_plain_table_goes():
    user = UserFactory(username="early")
    _drf_table_with(user.pk)
    with connection.schema_editor() as editor:
        migration.drf_tokens_to_api_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    assert not MigrationRecorder(connection).migration_qs.filter(app="authtoken").exists()
    row = ApiToken.objects.get(user=user)
    assert row.name == migration.MIGRATED_NAME and KEY not in (row.digest, row.token_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {KEY}")
    assert client.get("/api/v1/me/").json()["username"] == "early"


def test_without_drf_tokens_the_migration_does_nothing():
    with connection.schema_editor() as editor:
        migration.drf_tokens_to_api_tokens(apps, editor)
    assert not ApiToken.objects.exists()
