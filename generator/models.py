"""Models of the generator app: generation jobs (one row per "make me a song" click) and the
generator model versions they sample from.
"""

from django.conf import settings
from django.db import models


class GeneratorVersion(models.Model):
    """One trained checkpoint directory (weights + config + tokenizer) and its metrics."""

    name = models.CharField(max_length=100, unique=True)
    artifact_path = models.CharField(
        max_length=500, help_text="Checkpoint directory, relative to MODEL_ROOT or the repository"
    )
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="val_nll etc. (nats/token)")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    is_active = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="generator_one_active_version",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def val_nll(self) -> float | None:
        value = self.metrics.get("val_nll")
        return float(value) if value is not None else None


class GenerationJob(models.Model):
    """A listener's request for a new piece; the page and the API poll this row."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_jobs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    error = models.TextField(blank=True)
    settings = models.JSONField(
        default=dict, blank=True, help_text="Conditioning used: primer, temperature, key, tempo..."
    )
    primer_track = models.ForeignKey(
        "catalog.Track", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.ForeignKey(
        GeneratorVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    track = models.OneToOneField(
        "catalog.Track",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generation_job",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it"
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started (a run whose worker died is retried)"
    )
    idempotency_key = models.CharField(
        max_length=255,
        blank=True,
        help_text="The client's Idempotency-Key for the request that made it (24 h)",
    )
    request_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of that request's settings"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="genjob_user_recent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="genjob_progress_le_100"
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="genjob_user_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
