"""Impressions remember the source that showed them; each source's fitted blend multiplier."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0008_retire_gru"),
    ]

    operations = [
        migrations.CreateModel(
            name="FeedSourceWeight",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("source", models.CharField(max_length=16, unique=True)),
                (
                    "multiplier",
                    models.FloatField(help_text="Times the stage's default weight (1: no change)"),
                ),
                (
                    "shown",
                    models.PositiveIntegerField(help_text="Pieces it showed in the fitting window"),
                ),
                (
                    "played",
                    models.PositiveIntegerField(
                        help_text="Of those, pieces played after first shown"
                    ),
                ),
                ("fitted_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["source"],
            },
        ),
        migrations.AddField(
            model_name="feedimpression",
            name="source",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="The feed source that showed it last",
                max_length=16,
            ),
        ),
    ]
