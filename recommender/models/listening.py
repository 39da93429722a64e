"""The listening log: plays, skips, ratings and likes (issue 3, listening signals).

Design: **one row per listen.** A listen is one playback of one piece; the client names it with
a ``client_event_id`` (a UUID) when playback starts and every later report for that playback
(progress every few seconds, completion, skip) carries the same id. The server *merges* each
report into the row monotonically: ``played_ms`` only grows, ``completed``/``counted`` only turn
on, ``skipped`` turns on unless the listen already counted as a play. Because the merge is
monotonic, commutative and idempotent, a retried or re-ordered report can never undo what was
acknowledged, and a retry never creates a second row (the database enforces
``UNIQUE(user, client_event_id)``).

Why not an append-only log of typed events? Every consumer (history, play counts, training data,
the browser test's "exactly these events") wants the listen, not its dozens of progress pings;
an append-only log would store ~40 rows per three-minute piece and make every reader aggregate.
The merge upsert keeps one row that is always the best-known state of that listen.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = [
    "DISLIKED",
    "LOVED",
    "PLAY_THRESHOLD_MS",
    "FeedbackCounter",
    "ListenContext",
    "ListenEvent",
    "ListeningSettings",
    "Rating",
    "RatingQuerySet",
    "play_threshold_ms",
]

# Last.fm's scrobble rule: a play counts once the listener heard 30 s or half the piece.
PLAY_THRESHOLD_MS = 30_000


def play_threshold_ms(duration_ms: int) -> int:
    """Milliseconds a listener must hear for a listen of this piece to count as a play."""
    return min(PLAY_THRESHOLD_MS, max(duration_ms, 0) // 2)


# What a listen came to, for the history page and the API (``ListenEvent.outcome``).
OUTCOMES = ("completed", "played", "skipped", "started")


class ListenContext(models.TextChoices):
    """Where the piece was played from."""

    FEED = "feed", "Feed"
    BROWSE = "browse", "Browse"
    SEARCH = "search", "Search"
    RADIO = "radio", "Radio"
    TRACK_PAGE = "track_page", "Track page"
    GENERATED = "generated", "Generated"
    PLAYLIST = "playlist", "Playlist"
    HOME = "home", "Home page"


class ListenEvent(models.Model):
    """One listen of one piece by one listener, merged from the client's reports."""

    # No single-column FK indexes: the composite indexes below start with user and with track,
    # and every index is paid on each insert of the hottest write path of the site.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="listen_events",
        db_index=False,
    )
    track = models.ForeignKey(
        "catalog.Track", on_delete=models.CASCADE, related_name="listen_events", db_index=False
    )
    client_event_id = models.UUIDField(help_text="The client's id for this listen (idempotency)")
    session_id = models.UUIDField(
        null=True, blank=True, help_text="The client's listening session (one page or app run)"
    )
    context = models.CharField(max_length=12, choices=ListenContext.choices)
    started_at = models.DateTimeField(help_text="When playback started (client clock)")
    position_ms = models.PositiveIntegerField(default=0, help_text="Last known playhead")
    played_ms = models.PositiveIntegerField(default=0, help_text="Time actually heard")
    duration_ms = models.PositiveIntegerField(help_text="The piece's duration")
    completed = models.BooleanField(default=False, help_text="Played to the end")
    skipped = models.BooleanField(
        default=False, help_text="Moved on before the play threshold (30 s or half the piece)"
    )
    counted = models.BooleanField(
        default=False, help_text="Heard at least 30 s or half the piece: counts as a play"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_event_id"], name="listen_unique_client_event_per_user"
            ),
            models.CheckConstraint(
                condition=~Q(skipped=True, counted=True), name="listen_skip_is_not_a_play"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-started_at"], name="listen_user_recent"),
            models.Index(fields=["track", "counted"], name="listen_track_counted"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} listened to {self.track_id} ({self.played_ms} ms)"

    @property
    def outcome(self) -> str:
        """A word for the history page: completed, played, skipped or started."""
        if self.completed:
            return "completed"
        if self.counted:
            return "played"
        if self.skipped:
            return "skipped"
        return "started"


# What "loved" and "disliked" mean, once; every query and annotation of a verdict uses these.
LOVED = Q(liked=True) | Q(stars__gte=4)
DISLIKED = Q(not_interested=True) | Q(stars__lte=2)


class RatingQuerySet(models.QuerySet):
    def loved(self) -> "RatingQuerySet":
        """Pieces liked or rated 4 stars or more."""
        return self.filter(LOVED)

    def disliked(self) -> "RatingQuerySet":
        """Pieces marked "not interested" or rated 2 stars or less."""
        return self.filter(DISLIKED)

    def with_verdict(self) -> "RatingQuerySet":
        """Annotate each row with booleans ``is_loved`` and ``is_disliked``."""
        return self.annotate(
            is_loved=models.ExpressionWrapper(LOVED, output_field=models.BooleanField()),
            is_disliked=models.ExpressionWrapper(DISLIKED, output_field=models.BooleanField()),
        )


class Rating(models.Model):
    """A listener's explicit opinion of a piece: 1-5 stars, a like, "not interested".

    One row per listener and piece; a row with no stars, no like and interest is deleted.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings"
    )
    track = models.ForeignKey("catalog.Track", on_delete=models.CASCADE, related_name="ratings")
    stars = models.PositiveSmallIntegerField(null=True, blank=True)
    liked = models.BooleanField(default=False)
    not_interested = models.BooleanField(
        default=False, help_text="Hide this piece from the listener's feed"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RatingQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="rating_unique_user_track"),
            models.CheckConstraint(
                condition=Q(stars__isnull=True) | Q(stars__gte=1, stars__lte=5),
                name="rating_stars_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "not_interested"], name="rating_user_hidden"),
            models.Index(fields=["updated_at"], name="rating_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.track_id}: {self.stars} stars, liked={self.liked}"


class ListeningSettings(models.Model):
    """Per-listener switches for the listening log. No row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="listening_settings",
    )
    history_paused = models.BooleanField(
        default=False, help_text="While paused, no listening events are recorded"
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "listening settings"

    def __str__(self) -> str:
        return f"{self.user_id}: {'paused' if self.history_paused else 'recording'}"


class FeedbackCounter(models.Model):
    """New feedback since the last training of one model kind (see ``recommender.listening.hub``).

    The count for a kind is the sum over its ``slot`` rows: writers add to one random slot so
    that concurrent requests don't queue on a single hot row.
    """

    kind = models.CharField(max_length=32)
    slot = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "slot"], name="feedback_counter_kind_slot")
        ]

    def __str__(self) -> str:
        return f"{self.kind}[{self.slot}] = {self.count}"
