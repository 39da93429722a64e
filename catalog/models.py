"""The catalog: pieces of music (``Track``) with their composer, collection and tags.

A track's MIDI file is parsed once at ingest; the derived metadata lives in columns so that
browsing and filtering never touch the file. Audio and the piano-roll image are rendered by a
worker afterwards (``render_status``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.urls import reverse


class Artist(models.Model):
    """A composer or performer; for the demo corpus, the composer."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Collection(models.Model):
    """A named group of pieces, e.g. "Bach chorales" or "O'Neill's Music of Ireland"."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A free label curated by admins (style, mood, form...)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrackQuerySet(QuerySet["Track"]):
    def published(self) -> "TrackQuerySet":
        return self.filter(status=Track.Status.PUBLISHED)

    def visible_to(self, user) -> "TrackQuerySet":
        """Published public pieces, plus the user's own private (generated) pieces."""
        public = Q(status=Track.Status.PUBLISHED, owner__isnull=True)
        if user is not None and user.is_authenticated:
            return self.filter(public | Q(owner=user, status=Track.Status.PUBLISHED))
        return self.filter(public)


# The largest row id a client may name (the database's 32-bit integer); a larger number names
# no row, and is refused before a query that could not hold it.
MAX_ID = 2**31 - 1


class Track(models.Model):
    """One piece of music: its MIDI, the metadata parsed from it, and its rendered media."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        HIDDEN = "hidden", "Hidden"

    class Origin(models.TextChoices):
        IMPORTED = "imported", "Imported"
        GENERATED = "generated", "Generated"

    class RenderStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        RENDERING = "rendering", "Rendering"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=300)
    artist = models.ForeignKey(
        Artist, null=True, blank=True, on_delete=models.SET_NULL, related_name="tracks"
    )
    collection = models.ForeignKey(
        Collection, null=True, blank=True, on_delete=models.SET_NULL, related_name="tracks"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tracks")

    midi_file = models.FileField(upload_to="midi/%Y/%m/")
    content_hash = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the MIDI bytes"
    )
    music_hash = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="SHA-256 of the notes (catalog.ingest.fingerprint): equal for the same music",
    )
    source = models.CharField(max_length=500, blank=True, help_text="Where the piece came from")

    duration_seconds = models.FloatField()
    tempo_bpm = models.FloatField()
    key = models.CharField(max_length=20, blank=True, help_text='e.g. "D minor"')
    time_signature = models.CharField(max_length=10, blank=True, help_text='e.g. "3/4"')
    instruments = models.JSONField(default=list, blank=True, help_text="GM program names")
    note_count = models.PositiveIntegerField()
    pitch_min = models.PositiveSmallIntegerField()
    pitch_max = models.PositiveSmallIntegerField()

    audio_file = models.FileField(upload_to="audio/%Y/%m/", blank=True, help_text="Ogg Vorbis")
    audio_mp3_file = models.FileField(
        upload_to="audio/%Y/%m/",
        blank=True,
        help_text="MP3, for players without Vorbis (iOS); empty on pieces rendered before it",
    )
    pianoroll_image = models.FileField(upload_to="pianoroll/%Y/%m/", blank=True)
    render_status = models.CharField(
        max_length=10, choices=RenderStatus.choices, default=RenderStatus.PENDING
    )
    render_error = models.TextField(blank=True)
    render_heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker rendering it"
    )
    render_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Renders started since it was last pending, ready or failed"
    )

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.IMPORTED)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="private_tracks",
        help_text="Set for private pieces (generated for one listener)",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TrackQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        indexes = [
            models.Index(fields=["status", "owner"]),
            models.Index(fields=["tempo_bpm"]),
            models.Index(fields=["key"]),
            models.Index(fields=["-created_at"]),
        ]
        constraints = [
            # One public entry per piece of music (private pieces: one per owner, checked by
            # the ingest service). Rows from before fingerprints have none until
            # ``merge_duplicate_tracks`` fills them in.
            models.UniqueConstraint(
                fields=["music_hash"],
                condition=Q(owner__isnull=True) & ~Q(music_hash=""),
                name="track_unique_public_music",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:track_detail", args=[self.pk])

    @property
    def is_private(self) -> bool:
        return self.owner_id is not None
