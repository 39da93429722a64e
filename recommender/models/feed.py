"""Feed state: the precomputed candidate list per listener and the impressions log (issue 5).

``FeedSnapshot`` holds one listener's ranked, blended feed (track ids with their source and
reason) so a page is a couple of indexed reads. Any feedback marks it stale (one UPDATE); the
next page rebuilds it. ``FeedImpression`` counts how often each piece was shown to a listener,
one row per (listener, piece), upserted in one statement per page, with the source that showed
it last. ``FeedSourceWeight`` holds each source's blend multiplier, fitted on those impressions
(``recommender.feed.weights``).
"""

from django.conf import settings
from django.db import models

__all__ = ["FeedImpression", "FeedSnapshot", "FeedSourceWeight"]


class FeedSnapshot(models.Model):
    """One listener's ranked feed as of ``built_at``; rebuilt when ``stale`` or too old."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="feed_snapshot",
    )
    items = models.JSONField(
        default=list, help_text="[[track_id, source, reason_code, reason_text], ...] in order"
    )
    build = models.PositiveIntegerField(default=0, help_text="Increments on every rebuild")
    stale = models.BooleanField(default=False, help_text="Feedback arrived since the build")
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"feed of {self.user_id} (build {self.build}, {len(self.items)} items)"


class FeedImpression(models.Model):
    """How many times one piece was shown to one listener in their feed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_impressions"
    )
    track = models.ForeignKey("catalog.Track", on_delete=models.CASCADE, related_name="+")
    shown_count = models.PositiveIntegerField(default=1)
    first_shown_at = models.DateTimeField()
    last_shown_at = models.DateTimeField()
    source = models.CharField(  # db_default: writers from before the column still insert
        max_length=16,
        blank=True,
        default="",
        db_default="",
        help_text="The feed source that showed it last",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="impression_unique_user_track")
        ]

    def __str__(self) -> str:
        return f"{self.track_id} shown to {self.user_id} x{self.shown_count}"


class FeedSourceWeight(models.Model):
    """One feed source's fitted blend multiplier and the impression counts it came from."""

    source = models.CharField(max_length=16, unique=True)
    multiplier = models.FloatField(help_text="Times the stage's default weight (1: no change)")
    shown = models.PositiveIntegerField(help_text="Pieces it showed in the fitting window")
    played = models.PositiveIntegerField(help_text="Of those, pieces played after first shown")
    fitted_at = models.DateTimeField()

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return f"{self.source} x{self.multiplier:.2f}"
