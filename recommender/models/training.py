"""The model registry: training runs and model versions (issue 4, recommender engine).

A ``TrainingRun`` is the database row of one background training (status, progress, timings,
error, data counts); only ``recommender.training.services`` changes it. A ``ModelVersion``
indexes one self-describing artifact folder under ``MODEL_ROOT/<kind>/<version>/`` with its
config, data counts and offline metrics; at most one version per kind is active.
"""

from django.db import models
from django.db.models import Q

__all__ = ["ModelKind", "ModelVersion", "RunStatus", "RunTrigger", "TrainingRun"]


class ModelKind(models.TextChoices):
    """The kinds of ``recommender.ml.kinds.KINDS`` with their labels (a test keeps them equal)."""

    POP = "pop", "Popularity"
    ALS = "als", "ALS (matrix factorisation)"
    BPR = "bpr", "BPR (matrix factorisation)"
    SASREC = "sasrec", "SASRec (sequence Transformer)"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    FEEDBACK = "feedback", "New feedback"
    MANUAL = "manual", "Manual"


class ModelVersion(models.Model):
    """One trained model artifact with its offline metrics."""

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    version = models.PositiveIntegerField(help_text="1, 2, 3... per kind")
    artifact_path = models.CharField(
        max_length=255, help_text="Folder relative to MODEL_ROOT (<kind>/<version>)"
    )
    config = models.JSONField(default=dict, blank=True)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_events = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True, help_text="Held-out metrics (HR@10...)")
    ndcg10 = models.FloatField(null=True, blank=True, help_text="NDCG@10 on held-out events")
    hr10 = models.FloatField(null=True, blank=True, help_text="HR@10 on held-out events")
    is_active = models.BooleanField(default=False)
    reason = models.TextField(blank=True, help_text="Why this version was (not) activated")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_active=True), name="model_version_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}{' (active)' if self.is_active else ''}"


class TrainingRun(models.Model):
    """One training of one model kind, from queued to finished."""

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=12, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    progress = models.FloatField(default=0.0, help_text="0 to 1")
    stage = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it"
    )
    train_seconds = models.FloatField(null=True, blank=True)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_events = models.PositiveIntegerField(default=0)
    feedback_taken = models.PositiveIntegerField(
        default=0, help_text="New feedback signals this run claimed from the counter"
    )
    version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_runs",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database guard: never two queued/running trainings of one kind at once.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status__in=["queued", "running"]),
                name="training_run_one_open_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["kind", "-created_at"], name="training_run_kind_recent")]

    def __str__(self) -> str:
        return f"{self.kind} training #{self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in {RunStatus.QUEUED, RunStatus.RUNNING}
