"""Versions activated before the evaluation minimum (``RECOMMENDER_MIN_EVAL_USERS``) existed
and evaluated on fewer listeners stop serving; popularity serves their kind until a version
evaluated on enough listeners is trained. Their rows, metrics and artifacts stay."""

from django.conf import settings
from django.db import migrations

DEFAULT_MIN_EVAL_USERS = 20  # recommender.training.services.DEFAULT_MIN_EVAL_USERS


def deactivate(apps, schema_editor):
    ModelVersion = apps.get_model("recommender", "ModelVersion")
    minimum = max(1, int(getattr(settings, "RECOMMENDER_MIN_EVAL_USERS", DEFAULT_MIN_EVAL_USERS)))
    for version in ModelVersion.objects.filter(is_active=True):
        users = (version.metrics or {}).get("users")
        evaluated = int(users) if users is not None else int(version.n_users)
        if evaluated >= minimum:
            continue
        version.is_active = False
        version.reason = (
            f"deactivated: evaluated on {evaluated} listeners, fewer than the {minimum} "
            f"RECOMMENDER_MIN_EVAL_USERS asks; popularity serves meanwhile (was: {version.reason})"
        )
        version.save(update_fields=["is_active", "reason"])


class Migration(migrations.Migration):
    dependencies = [("recommender", "0006_heartbeats")]

    operations = [migrations.RunPython(deactivate, migrations.RunPython.noop)]
