"""Admin curation of the catalog: filters, search, bulk publish / hide / re-render, MIDI upload."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from catalog import services, services_recovery
from catalog.models import Artist, Collection, Tag, Track


class _CountedAdmin(admin.ModelAdmin):
    """Artist / Collection / Tag: searchable by name, with how many tracks each has."""

    list_display: tuple[str, ...] = ("name", "slug", "track_count")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(track_count=Count("tracks"))

    @admin.display(description="Tracks", ordering="track_count")
    def track_count(self, obj) -> int:
        return obj.track_count


@admin.register(Artist)
class ArtistAdmin(_CountedAdmin):
    pass


@admin.register(Collection)
class CollectionAdmin(_CountedAdmin):
    list_display = ("name", "slug", "track_count", "description")


@admin.register(Tag)
class TagAdmin(_CountedAdmin):
    pass


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    change_list_template = "admin/catalog/track/change_list.html"
    list_display = (
        "title",
        "artist",
        "collection",
        "status",
        "origin",
        "render_status",
        "key",
        "tempo_bpm",
        "duration",
        "created_at",
    )
    list_filter = (
        "status",
        "origin",
        "render_status",
        "collection",
        "artist",
        "tags",
        "key",
        "time_signature",
    )
    list_select_related = ("artist", "collection", "owner")
    search_fields = (
        "title",
        "artist__name",
        "collection__name",
        "source",
        "content_hash",
        "music_hash",
    )
    autocomplete_fields = ("artist", "collection", "tags", "owner")
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ("publish", "hide", "make_draft", "rerender", "fail_render")
    readonly_fields = (
        "content_hash",
        "music_hash",
        "source",
        "midi_file",
        "duration_seconds",
        "tempo_bpm",
        "key",
        "time_signature",
        "instruments",
        "note_count",
        "pitch_min",
        "pitch_max",
        "audio_file",
        "audio_mp3_file",
        "pianoroll_image",
        "pianoroll_preview",
        "render_status",
        "render_error",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("title", "artist", "collection", "tags", "status", "origin", "owner")}),
        (
            "From the MIDI file",
            {
                "fields": (
                    "midi_file",
                    "content_hash",
                    "music_hash",
                    "source",
                    ("duration_seconds", "tempo_bpm"),
                    ("key", "time_signature"),
                    "instruments",
                    ("note_count", "pitch_min", "pitch_max"),
                )
            },
        ),
        (
            "Rendered media",
            {
                "fields": (
                    "render_status",
                    "render_error",
                    "audio_file",
                    "audio_mp3_file",
                    "pianoroll_image",
                    "pianoroll_preview",
                )
            },
        ),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tracks come in through ingest (the upload page), which parses the MIDI

    @admin.display(description="Duration", ordering="duration_seconds")
    def duration(self, obj: Track) -> str:
        minutes, seconds = divmod(round(obj.duration_seconds), 60)
        return f"{minutes}:{seconds:02d}"

    @admin.display(description="Piano roll")
    def pianoroll_preview(self, obj: Track) -> str:
        if not obj.pianoroll_image:
            return "—"
        url = reverse("catalog:track_pianoroll", args=[obj.pk])
        return format_html('<img src="{}" alt="Piano roll" width="600">', url)

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = services.tracks_set_status(track_ids=ids, status=status)
        label = Track.Status(status).label.lower()
        self.message_user(request, f"{changed} track(s) set to {label}.", messages.SUCCESS)

    @admin.action(description="Publish selected tracks")
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, Track.Status.PUBLISHED)

    @admin.action(description="Hide selected tracks")
    def hide(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, Track.Status.HIDDEN)

    @admin.action(description="Move selected tracks back to draft")
    def make_draft(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, Track.Status.DRAFT)

    @admin.action(description="Re-render audio and piano roll")
    def rerender(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.tracks_rerender(track_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} track(s) queued for rendering.", messages.SUCCESS)

    @admin.action(description="Mark a stuck render failed (pending or rendering)")
    def fail_render(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = services_recovery.track_renders_fail(track_ids=ids)
        self.message_user(request, f"{count} render(s) marked failed.", messages.SUCCESS)
