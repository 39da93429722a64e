"""REST API of the catalog: list and detail of the tracks the caller may see.

The filters are parsed by the same ``TrackFilterForm`` as the browse page and the rows come
from the same selectors, so the page and the API cannot drift apart.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors
from catalog.filters import TEMPO_MAX_BPM, TEMPO_MIN_BPM, TrackFilterForm
from catalog.media_urls import MEDIA_URL_MAX_AGE, AudioFormat, MediaKind, media_path
from catalog.models import Track
from musicsite.api import absolute_uri
from musicsite.pagination import NumberedPages


class NamedSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()


_MEDIA_HELP = (
    "Fetch it as it is, no Authorization header needed (Range requests work). A private "
    "piece's URL carries a signature for the caller that expires after "
    f"{int(MEDIA_URL_MAX_AGE.total_seconds() // 3600)} hours: fetch the track again for a "
    "fresh one."
)
_AUDIO_HELP = (
    "Ogg Vorbis, or MP3 when the request's Accept header takes audio/mpeg at least as gladly "
    "as audio/ogg; null until the piece is rendered. " + _MEDIA_HELP
)
_AUDIO_MP3_HELP = (
    "The MP3 rendition, for players without Ogg Vorbis (iOS): the audio URL with format=mp3. "
    "Null until it is rendered (a piece rendered before MP3s gets one later). " + _MEDIA_HELP
)


class TrackListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    composer = NamedSerializer(source="artist", allow_null=True)
    collection = NamedSerializer(allow_null=True)
    tags = NamedSerializer(many=True, source="tags.all")
    duration_seconds = serializers.FloatField()
    tempo_bpm = serializers.FloatField()
    key = serializers.CharField()
    time_signature = serializers.CharField()
    origin = serializers.ChoiceField(choices=Track.Origin.choices)
    is_private = serializers.BooleanField()
    render_status = serializers.ChoiceField(choices=Track.RenderStatus.choices)
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    audio_url = serializers.SerializerMethodField()
    audio_mp3_url = serializers.SerializerMethodField()
    pianoroll_url = serializers.SerializerMethodField()

    def _absolute(self, path: str) -> str:
        return absolute_uri(self.context, path)

    def _media(self, track: Track, kind: MediaKind, audio_format: AudioFormat | None = None) -> str:
        """Absolute media URL, signed for the caller when the piece is private (6 h)."""
        user = getattr(self.context.get("request"), "user", None)
        return self._absolute(media_path(track, kind, user=user, audio_format=audio_format))

    def get_url(self, track: Track) -> str:
        return self._absolute(reverse("api-track-detail", args=[track.pk]))

    def get_page_url(self, track: Track) -> str:
        return self._absolute(track.get_absolute_url())

    @extend_schema_field(serializers.URLField(allow_null=True, help_text=_AUDIO_HELP))
    def get_audio_url(self, track: Track) -> str | None:
        """Where a player streams the piece (Range requests work); null until it is rendered."""
        if not track.audio_file or track.render_status != Track.RenderStatus.READY:
            return None
        return self._media(track, "audio")

    @extend_schema_field(serializers.URLField(allow_null=True, help_text=_AUDIO_MP3_HELP))
    def get_audio_mp3_url(self, track: Track) -> str | None:
        """The MP3 (iOS plays no Vorbis); null until it is rendered."""
        if not track.audio_mp3_file or track.render_status != Track.RenderStatus.READY:
            return None
        return self._media(track, "audio", "mp3")

    @extend_schema_field(serializers.URLField(allow_null=True, help_text=_MEDIA_HELP))
    def get_pianoroll_url(self, track: Track) -> str | None:
        if not track.pianoroll_image:
            return None
        return self._media(track, "pianoroll")


class TrackDetailOutputSerializer(TrackListOutputSerializer):
    instruments = serializers.ListField(child=serializers.CharField())
    note_count = serializers.IntegerField()
    pitch_min = serializers.IntegerField()
    pitch_max = serializers.IntegerField()
    midi_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField(help_text=_MEDIA_HELP))
    def get_midi_url(self, track: Track) -> str:
        return self._media(track, "midi")


class TempoParams(serializers.Serializer):
    """The tempo filter's bounds, for the schema (``TrackFilterForm`` reads them)."""

    tempo_min = serializers.IntegerField(
        required=False, min_value=TEMPO_MIN_BPM, max_value=TEMPO_MAX_BPM, help_text="Lowest (bpm)"
    )
    tempo_max = serializers.IntegerField(
        required=False, min_value=TEMPO_MIN_BPM, max_value=TEMPO_MAX_BPM, help_text="Highest (bpm)"
    )


_FILTER_PARAMS: list = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description=(
            "Words each found in the title, composer, collection or a tag; the best matches "
            "first (a whole word before part of one; the title, then the composer, the "
            "collection, a tag), ties by title"
        ),
    ),
    OpenApiParameter("collection", OpenApiTypes.STR, description="Collection slug"),
    OpenApiParameter("composer", OpenApiTypes.STR, description="Composer slug"),
    OpenApiParameter("tag", OpenApiTypes.STR, description="Tag slug"),
    OpenApiParameter("key", OpenApiTypes.STR, description='Key, e.g. "D minor"'),
    TempoParams,
]


class TrackListApi(APIView):
    """The catalog the caller may see, filtered like the browse page, by page number: by title,
    or with q the best matches first."""

    permission_classes = [AllowAny]
    pagination_class = NumberedPages  # so the OpenAPI schema describes the paginated body

    @extend_schema(parameters=_FILTER_PARAMS, responses=TrackListOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        form = TrackFilterForm(request.query_params, user=request.user)
        errors = {field: [str(e) for e in found] for field, found in form.errors.items()}
        for name in ("tempo_min", "tempo_max"):  # the page's form reads an empty one as unset
            if request.query_params.get(name) == "":
                errors[name] = ["A whole number of beats per minute is required."]
        if errors:
            raise ValidationError(errors)
        tracks = selectors.track_list(user=request.user, filters=form.to_filters())
        paginator = NumberedPages()
        page = paginator.paginate_queryset(tracks, request, view=self)
        data = TrackListOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class TrackDetailApi(APIView):
    """One track with absolute URLs of its audio, MIDI and piano roll; 404 if not visible."""

    permission_classes = [AllowAny]

    @extend_schema(responses=TrackDetailOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        track = selectors.track_get(user=request.user, pk=pk)
        return Response(TrackDetailOutputSerializer(track, context={"request": request}).data)
