"""Existing DRF tokens (``rest_framework.authtoken``, stored in plain text) become hashed API
tokens, so mobile clients that signed in before keep working; then their plain table is dropped.

Each becomes a device named ``MIGRATED_NAME`` whose idle expiry starts now. Irreversible: the
plain keys are gone.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS

DRF_TABLE = "authtoken_token"
MIGRATED_NAME = "Signed in before devices had names"


def drf_tokens_to_api_tokens(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if DRF_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    table = connection.ops.quote_name(DRF_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name('key')}, user_id FROM {table}")
        rows = cursor.fetchall()
    expiry = timezone.now() + timedelta(days=settings.API_TOKEN_IDLE_DAYS)
    ApiToken.objects.bulk_create(
        ApiToken(
            user_id=user_id,
            name=MIGRATED_NAME,
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            expiry=expiry,
        )
        for key, user_id in rows
    )
    schema_editor.execute(f"DROP TABLE {table}")
    # Re-adding rest_framework.authtoken later would create its table afresh.
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_apitoken")]

    operations = [migrations.RunPython(drf_tokens_to_api_tokens, migrations.RunPython.noop)]
