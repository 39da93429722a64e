"""REST API of a listener's library: onboarding picks and playlists (mounted under /api/v1/).

All endpoints need a signed-in listener and only ever touch that listener's own data: another
listener's playlist id is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.library import onboarding, playlists
from accounts.models import Playlist, TempoRange
from catalog.api import TrackListOutputSerializer
from catalog.models import MAX_ID
from musicsite.api import InputCharField, absolute_uri
from musicsite.pagination import CURSOR_PARAMS, CursorPageSerializer, offset_page, offset_params


def _playlist_error(exc: playlists.PlaylistError) -> Exception:
    """A refused playlist write as a 400 naming its field, with the service's code."""
    return ValidationError({exc.field: [str(exc)]}, code=exc.code)


# --- onboarding ---


class ChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class TempoChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label


class OnboardingChoicesSerializer(serializers.Serializer):
    collections = ChoiceSerializer(many=True)
    composers = ChoiceSerializer(many=True)
    tags = ChoiceSerializer(many=True)
    tempo_ranges = TempoChoiceSerializer(many=True)


class PicksSerializer(serializers.Serializer):
    collections = serializers.ListField(child=serializers.CharField())
    composers = serializers.ListField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    tempo_ranges = serializers.ListField(child=serializers.CharField())


class OnboardingOutputSerializer(serializers.Serializer):
    onboarded = serializers.BooleanField()
    picks = PicksSerializer()
    choices = OnboardingChoicesSerializer()


class OnboardingInputSerializer(serializers.Serializer):
    """Slugs (or ids) of what the listener likes; at least one pick in all."""

    collections = serializers.ListField(
        child=InputCharField(max_length=200), required=False, default=list, max_length=30
    )
    composers = serializers.ListField(
        child=InputCharField(max_length=200), required=False, default=list, max_length=30
    )
    tags = serializers.ListField(
        child=InputCharField(max_length=100), required=False, default=list, max_length=30
    )
    tempo_ranges = serializers.ListField(
        child=serializers.ChoiceField(choices=TempoRange.choices),
        required=False,
        default=list,
        max_length=3,
    )


def _onboarding_state(user) -> dict:
    profile = onboarding.profile_for(user)
    choices = onboarding.onboarding_choices()
    return {
        "onboarded": bool(profile and profile.is_onboarded),
        "picks": onboarding.onboarding_picks(profile),
        "choices": {
            "collections": [
                {"id": c.pk, "slug": c.slug, "name": c.name} for c in choices.collections
            ],
            "composers": [{"id": a.pk, "slug": a.slug, "name": a.name} for a in choices.composers],
            "tags": [{"id": t.pk, "slug": t.slug, "name": t.name} for t in choices.tags],
            "tempo_ranges": [{"value": v, "label": label} for v, label in choices.tempo_ranges],
        },
    }


class OnboardingApi(APIView):
    """What a new listener can pick, what they picked; ``PUT`` stores new picks."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OnboardingOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(_onboarding_state(request.user))

    @extend_schema(request=OnboardingInputSerializer, responses=OnboardingOutputSerializer)
    def put(self, request: Request) -> Response:
        data = OnboardingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            onboarding.onboarding_complete(user=request.user, **data.validated_data)
        except onboarding.OnboardingError as exc:
            raise ValidationError(exc.fields) from exc
        return Response(_onboarding_state(request.user))


class OnboardingSkipApi(APIView):
    """Skip onboarding: the feed starts from popular and new pieces."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=OnboardingOutputSerializer)
    def post(self, request: Request) -> Response:
        onboarding.onboarding_skip(user=request.user)
        return Response(_onboarding_state(request.user))


# --- playlists ---


class PlaylistOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    track_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, playlist: Playlist) -> str:
        return absolute_uri(self.context, reverse("api-playlist-detail", args=[playlist.pk]))


class PlaylistDetailSerializer(PlaylistOutputSerializer):
    tracks = TrackListOutputSerializer(many=True)


class PlaylistListSerializer(CursorPageSerializer):
    liked_count = serializers.IntegerField(help_text='Pieces in the automatic "Liked" playlist')
    results = PlaylistOutputSerializer(many=True)


class LikedPlaylistSerializer(CursorPageSerializer):
    name = serializers.CharField()
    track_count = serializers.IntegerField(help_text="In all, not on this page")
    tracks = TrackListOutputSerializer(many=True)


class PlaylistInputSerializer(serializers.Serializer):
    name = InputCharField(max_length=100)
    description = InputCharField(max_length=500, required=False, allow_blank=True)


class PlaylistPatchSerializer(serializers.Serializer):
    name = InputCharField(max_length=100, required=False)
    description = InputCharField(max_length=500, required=False, allow_blank=True)


class PlaylistItemInputSerializer(serializers.Serializer):
    track = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    position = serializers.IntegerField(min_value=0, max_value=100_000, required=False)


class PlaylistOrderSerializer(serializers.Serializer):
    tracks = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=playlists.MAX_ITEMS,
        help_text="Every piece of the playlist exactly once, in the new order",
    )


def _detail(request: Request, playlist: Playlist) -> dict:
    tracks = playlists.playlist_tracks(user=request.user, playlist=playlist)
    playlist.track_count = len(tracks)  # type: ignore[attr-defined]  # for the serializer
    playlist.tracks = tracks  # type: ignore[attr-defined]
    return PlaylistDetailSerializer(playlist, context={"request": request}).data


class PlaylistListApi(APIView):
    """The listener's playlists in cursor pages (and how many pieces they liked); ``POST``
    creates one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=CURSOR_PARAMS, responses=PlaylistListSerializer, operation_id="playlists_list"
    )
    def get(self, request: Request) -> Response:
        rows = playlists.playlists_for(request.user)
        page = offset_page(rows, request, *offset_params(request.query_params))
        return Response(
            {
                "liked_count": playlists.liked_count(user=request.user),
                "results": PlaylistOutputSerializer(
                    page.items, many=True, context={"request": request}
                ).data,
                "next_cursor": page.next_cursor,
                "next": page.next,
            }
        )

    @extend_schema(request=PlaylistInputSerializer, responses={201: PlaylistDetailSerializer})
    def post(self, request: Request) -> Response:
        data = PlaylistInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            playlist = playlists.playlist_create(user=request.user, **data.validated_data)
        except playlists.PlaylistError as exc:
            raise _playlist_error(exc) from exc
        return Response(_detail(request, playlist), status=status.HTTP_201_CREATED)


class LikedPlaylistApi(APIView):
    """The automatic "Liked" playlist: the pieces the listener liked, most recent first, in
    cursor pages."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=CURSOR_PARAMS, responses=LikedPlaylistSerializer)
    def get(self, request: Request) -> Response:
        tracks = playlists.liked_tracks(user=request.user)
        page = offset_page(tracks, request, *offset_params(request.query_params))
        return Response(
            {
                "name": "Liked",
                "track_count": len(tracks),
                "tracks": TrackListOutputSerializer(
                    page.items, many=True, context={"request": request}
                ).data,
                "next_cursor": page.next_cursor,
                "next": page.next,
            }
        )


class PlaylistDetailApi(APIView):
    """One playlist with its pieces; ``PATCH`` renames, ``DELETE`` deletes."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PlaylistDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(request, playlists.playlist_get(user=request.user, pk=pk)))

    @extend_schema(request=PlaylistPatchSerializer, responses=PlaylistDetailSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        playlist = playlists.playlist_get(user=request.user, pk=pk)
        data = PlaylistPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            playlists.playlist_update(playlist=playlist, **data.validated_data)
        except playlists.PlaylistError as exc:
            raise _playlist_error(exc) from exc
        return Response(_detail(request, playlist))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        playlists.playlist_delete(playlist=playlists.playlist_get(user=request.user, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlaylistItemsApi(APIView):
    """Add a piece to a playlist (at the end, or at ``position``)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=PlaylistItemInputSerializer, responses={201: PlaylistDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        playlist = playlists.playlist_get(user=request.user, pk=pk)
        data = PlaylistItemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            playlists.playlist_add(
                user=request.user,
                playlist=playlist,
                track_id=data.validated_data["track"],
                position=data.validated_data.get("position"),
            )
        except playlists.PlaylistError as exc:
            raise _playlist_error(exc) from exc
        return Response(_detail(request, playlist), status=status.HTTP_201_CREATED)


class PlaylistItemApi(APIView):
    """Remove a piece from a playlist."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, track_id: int) -> Response:
        playlist = playlists.playlist_get(user=request.user, pk=pk)
        try:
            playlists.playlist_remove(playlist=playlist, track_id=track_id)
        except playlists.PlaylistError as exc:
            raise NotFound(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlaylistOrderApi(APIView):
    """Reorder a playlist: send every piece once, in the new order."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=PlaylistOrderSerializer, responses=PlaylistDetailSerializer)
    def put(self, request: Request, pk: int) -> Response:
        playlist = playlists.playlist_get(user=request.user, pk=pk)
        data = PlaylistOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            playlists.playlist_reorder(playlist=playlist, track_ids=data.validated_data["tracks"])
        except playlists.PlaylistError as exc:
            raise _playlist_error(exc) from exc
        return Response(_detail(request, playlist))
