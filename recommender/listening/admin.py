"""Admin pages of the listening log (read-mostly: listens come from players, not admins)."""

from django.contrib import admin

from recommender.models import FeedbackCounter, ListenEvent, ListeningSettings, Rating


@admin.register(ListenEvent)
class ListenEventAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "user",
        "track",
        "context",
        "played_ms",
        "counted",
        "skipped",
        "completed",
    ]
    list_filter = ["context", "counted", "skipped", "completed"]
    search_fields = ["user__username", "track__title", "client_event_id"]
    raw_id_fields = ["user", "track"]
    date_hierarchy = "started_at"
    list_select_related = ["user", "track"]
    readonly_fields = ["client_event_id", "session_id", "created_at", "updated_at"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["updated_at", "user", "track", "stars", "liked", "not_interested"]
    list_filter = ["stars", "liked", "not_interested"]
    search_fields = ["user__username", "track__title"]
    raw_id_fields = ["user", "track"]
    list_select_related = ["user", "track"]


@admin.register(ListeningSettings)
class ListeningSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "history_paused", "paused_at"]
    list_filter = ["history_paused"]
    raw_id_fields = ["user"]


@admin.register(FeedbackCounter)
class FeedbackCounterAdmin(admin.ModelAdmin):
    list_display = ["kind", "slot", "count"]
    list_filter = ["kind"]
