"""Models of the accounts app."""

from django.conf import settings
from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class TempoRange(models.TextChoices):
    """Tempo bands a listener can pick at onboarding (beats per minute)."""

    SLOW = "slow", "Slow (under 80 bpm)"
    MODERATE = "moderate", "Moderate (80-120 bpm)"
    FAST = "fast", "Fast (over 120 bpm)"


# (low, high) bpm bounds of each band; high is exclusive.
TEMPO_BOUNDS: dict[str, tuple[float, float]] = {
    TempoRange.SLOW: (0.0, 80.0),
    TempoRange.MODERATE: (80.0, 120.0),
    TempoRange.FAST: (120.0, 10_000.0),
}


class Profile(models.Model):
    """What a listener told us at onboarding, and whether the account is demo data."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    collections = models.ManyToManyField(
        "catalog.Collection", blank=True, related_name="+", help_text="Collections picked"
    )
    artists = models.ManyToManyField(
        "catalog.Artist", blank=True, related_name="+", help_text="Composers picked"
    )
    tags = models.ManyToManyField(
        "catalog.Tag", blank=True, related_name="+", help_text="Moods and styles picked"
    )
    tempo_ranges = models.JSONField(
        default=list, blank=True, help_text="Tempo bands picked (slow, moderate, fast)"
    )
    onboarded_at = models.DateTimeField(
        null=True, blank=True, help_text="When onboarding was completed or skipped"
    )
    is_demo = models.BooleanField(
        default=False, help_text="A seeded demo listener: never used by benchmarks or metrics"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["is_demo"], name="profile_is_demo")]

    def __str__(self) -> str:
        return f"profile of {self.user_id}"

    @property
    def is_onboarded(self) -> bool:
        return self.onboarded_at is not None


class Playlist(models.Model):
    """A listener's own ordered list of pieces. ("Liked" is derived from likes, not stored.)"""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="playlist_unique_owner_name")
        ]

    def __str__(self) -> str:
        return self.name


class PlaylistItem(models.Model):
    """One piece in a playlist at a position (0-based, kept dense by the services)."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    track = models.ForeignKey("catalog.Track", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["playlist", "position"]
        constraints = [
            models.UniqueConstraint(fields=["playlist", "track"], name="playlist_item_unique_track")
        ]
        indexes = [models.Index(fields=["playlist", "position"], name="playlist_item_position")]

    def __str__(self) -> str:
        return f"{self.playlist_id}[{self.position}] = {self.track_id}"


class ApiToken(AbstractAuthToken):
    """One device's API token (django-rest-knox's model, swapped in by ``KNOX_TOKEN_MODEL``).

    Only a SHA-512 digest of the token and its first 15 characters are stored, so no row signs
    anyone in. ``expiry`` moves on as the token is used (``accounts.authentication``).
    """

    id = models.BigAutoField(primary_key=True)  # the device's id in the API (not the digest)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100, help_text="The device, as its client named it")
    last_used_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last use (to API_TOKEN_REFRESH_SECONDS)",
    )

    class Meta:
        verbose_name = "API token"
        # No default ordering: every request's lookup would pay for compiling and sorting it.
        indexes = [models.Index(fields=["user", "name"], name="apitoken_user_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"
