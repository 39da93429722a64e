"""Admin of the feed: each source's fitted blend multiplier, read-only (the hourly fit writes
them; ``recommender.feed.weights``)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from recommender.models import FeedSourceWeight


@admin.register(FeedSourceWeight)
class FeedSourceWeightAdmin(admin.ModelAdmin):
    list_display = ["source", "multiplier", "shown", "played", "play_rate", "fitted_at"]
    readonly_fields = [f.name for f in FeedSourceWeight._meta.fields]

    @admin.display(description="play rate")
    def play_rate(self, row: FeedSourceWeight) -> str:
        return f"{row.played / row.shown:.1%}" if row.shown else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
