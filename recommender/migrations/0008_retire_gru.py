"""GRU4Rec is retired: its versions stop serving (their rows, metrics and artifacts stay) and
its queued or running trainings are failed with the reason, so that none is left open."""

from django.db import migrations, models
from django.utils import timezone

RETIRED = "gru"


def retire(apps, schema_editor):
    ModelVersion = apps.get_model("recommender", "ModelVersion")
    TrainingRun = apps.get_model("recommender", "TrainingRun")
    for version in ModelVersion.objects.filter(kind=RETIRED, is_active=True):
        version.is_active = False
        version.reason = f"deactivated: GRU4Rec was retired (was: {version.reason})"
        version.save(update_fields=["is_active", "reason"])
    TrainingRun.objects.filter(kind=RETIRED, status__in=["queued", "running"]).update(
        status="failed",
        stage="failed",
        error="GRU4Rec was retired; SASRec is the sequence model.",
        finished_at=timezone.now(),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('recommender', '0007_deactivate_under_evaluated_versions'),
    ]

    operations = [
        migrations.RunPython(retire, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='modelversion',
            name='kind',
            field=models.CharField(choices=[('pop', 'Popularity'), ('als', 'ALS (matrix factorisation)'), ('bpr', 'BPR (matrix factorisation)'), ('sasrec', 'SASRec (sequence Transformer)')], max_length=16),
        ),
        migrations.AlterField(
            model_name='trainingrun',
            name='kind',
            field=models.CharField(choices=[('pop', 'Popularity'), ('als', 'ALS (matrix factorisation)'), ('bpr', 'BPR (matrix factorisation)'), ('sasrec', 'SASRec (sequence Transformer)')], max_length=16),
        ),
    ]
