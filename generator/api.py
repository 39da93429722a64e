"""REST API of the generator: list, create, read and cancel generation jobs (own jobs only).

``GET /api/v1/generation-jobs/`` pages through the listener's jobs newest first with an opaque
``cursor`` and the feed's ``page_size`` rules (1-50, default 20, out of range is a 400).
"""

from __future__ import annotations

import re

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, Throttled, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.media_urls import AudioFormat, MediaKind, media_path
from catalog.models import Track
from generator import idempotency, selectors, services
from generator.ml.styles import STYLES
from generator.models import GenerationJob
from generator.personalization import DENSITY_BIAS
from musicsite.api import absolute_uri, error_payload
from musicsite.pagination import CURSOR_PARAMS, CursorPageSerializer, keyset_page


class JobTrackSerializer(serializers.Serializer):
    """The song a job made (documentation of ``JobOutputSerializer.track``)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField()
    audio_url = serializers.URLField(
        help_text="Signed for the caller, valid 6 hours; no Authorization header needed "
        "(Range requests work). 404 until the song is rendered. Ogg Vorbis, or MP3 when the "
        "request's Accept header takes audio/mpeg at least as gladly as audio/ogg."
    )
    audio_mp3_url = serializers.URLField(
        allow_null=True,
        help_text="The MP3, for players without Ogg Vorbis (iOS): the audio URL with "
        "format=mp3, signed the same way. Null until it is rendered.",
    )
    midi_url = serializers.URLField(help_text="Signed for the caller, valid 6 hours.")


class JobSettingsSerializer(serializers.Serializer):
    """What a song was written with (``generator.personalization.Conditioning`` and its seed).

    A song made before a field existed lacks it, so none is required."""

    primer_track_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="The loved piece the song is modelled on"
    )
    style = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not Field.style
        choices=list(STYLES), required=False, allow_null=True
    )
    key = serializers.CharField(required=False, allow_null=True, help_text='e.g. "G major"')
    tempo_bpm = serializers.FloatField(required=False)
    time_signature = serializers.CharField(required=False, help_text='e.g. "4/4"')
    max_polyphony = serializers.IntegerField(required=False)
    temperature = serializers.FloatField(required=False)
    seconds = serializers.FloatField(required=False, help_text="The length asked for")
    reason = serializers.CharField(required=False, help_text="What the song was made from")
    tempo_factor = serializers.FloatField(required=False, allow_null=True)
    density = serializers.ChoiceField(choices=list(DENSITY_BIAS), required=False, allow_null=True)
    density_bias = serializers.FloatField(required=False)
    seed = serializers.IntegerField(required=False, help_text="Writes the same song again")


class JobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=GenerationJob.Status.choices)
    progress = serializers.IntegerField()
    error = serializers.CharField()
    settings = JobSettingsSerializer()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    track = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def _absolute(self, path: str) -> str:
        return absolute_uri(self.context, path)

    def _media(self, track: Track, kind: MediaKind, audio_format: AudioFormat | None = None) -> str:
        """Absolute media URL of the job's (private) piece, signed for the caller (6 h)."""
        user = getattr(self.context.get("request"), "user", None)
        return self._absolute(media_path(track, kind, user=user, audio_format=audio_format))

    def get_url(self, job: GenerationJob) -> str:
        return self._absolute(reverse("api-generation-job-detail", args=[job.pk]))

    @extend_schema_field(JobTrackSerializer(allow_null=True))
    def get_track(self, job: GenerationJob) -> dict | None:
        if job.track is None:
            return None
        return {
            "id": job.track_id,
            "title": job.track.title,
            "url": self._absolute(reverse("api-track-detail", args=[job.track_id])),
            "audio_url": self._media(job.track, "audio"),
            "audio_mp3_url": (
                self._media(job.track, "audio", "mp3") if job.track.audio_mp3_file else None
            ),
            "midi_url": self._media(job.track, "midi"),
        }


class JobPageSerializer(CursorPageSerializer):
    results = JobOutputSerializer(many=True)


# The keys generator.ml.constraints reads: a tonic (sharp or flat) and a mode.
KEY_PATTERN = r"^(?:[A-Ga-g]|[CDFGAcdfga]#|[ABCDEFGabcdefg][b-]) (?:[Mm]ajor|[Mm]inor)$"
_KEY_RE = re.compile(rf"^[\x21-\x7e]{{1,{idempotency.KEY_MAX_LENGTH}}}$")

_IDEMPOTENCY_PARAM = OpenApiParameter(
    idempotency.IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    pattern=_KEY_RE.pattern,
    description=(
        "A key of the client's choosing (1-255 visible ASCII characters, e.g. a UUID) that "
        "makes retrying safe: within 24 hours the same key with the same settings returns the "
        "job it made (200, its current state; no second job, no second count toward the hourly "
        "limit); the same key with other settings is a 409 (code idempotency_key_reused)."
    ),
)


def _idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, None if absent; a 400 naming it if malformed."""
    key = request.headers.get(idempotency.IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _KEY_RE.fullmatch(key):
        raise ValidationError(
            {
                idempotency.IDEMPOTENCY_HEADER: [
                    "Expected 1-255 visible ASCII characters, for example a UUID."
                ]
            }
        )
    return key


def _own_job(request: Request, job_id: int) -> GenerationJob:
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    if job is None:
        raise NotFound("No such generation job.")
    return job


class GenerationJobCreateApi(APIView):
    """The listener's generation jobs: GET lists them newest first, POST queues a new one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=CURSOR_PARAMS,
        responses=JobPageSerializer,
        operation_id="generation_jobs_list",
    )
    def get(self, request: Request) -> Response:
        jobs = selectors.job_list_for_user(user=request.user)
        page = keyset_page(jobs, request, "created_at")
        results = JobOutputSerializer(page.items, many=True, context={"request": request}).data
        return Response({"results": results, "next_cursor": page.next_cursor, "next": page.next})

    class InputSerializer(serializers.Serializer):
        seconds = serializers.FloatField(required=False, default=30.0, min_value=5, max_value=180)
        temperature = serializers.FloatField(required=False, min_value=0.1, max_value=2.0)
        key = serializers.RegexField(
            KEY_PATTERN,
            required=False,
            max_length=20,
            help_text='A tonic and a mode, e.g. "D minor" or "Bb major"',
            error_messages={
                "invalid": 'A key is a tonic and a mode, e.g. "D minor" or "Bb major".'
            },
        )
        tempo_bpm = serializers.FloatField(required=False, min_value=40, max_value=200)
        style = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not Field.style
            choices=list(STYLES),
            required=False,
            help_text="Write in this style (default: the listener's taste chooses).",
        )
        more_like = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="Another song like this one of the listener's finished songs (job id).",
        )

    @extend_schema(
        request=InputSerializer,
        parameters=[_IDEMPOTENCY_PARAM],
        responses={
            201: JobOutputSerializer,
            200: OpenApiResponse(
                JobOutputSerializer,
                description="Idempotency-Key replay: the job the same key made earlier.",
            ),
            409: OpenApiResponse(
                description="The Idempotency-Key was used for a request with other settings "
                "(code idempotency_key_reused)."
            ),
            503: OpenApiResponse(
                description="The workers' broker is unreachable: nothing was queued (the job "
                "is failed and does not count toward the limit); retry after Retry-After."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = _idempotency_key(request)
        created = True
        try:
            if key is None:
                job = services.generation_job_create(user=request.user, **data.validated_data)
            else:
                job, created = idempotency.generation_job_create_once(
                    user=request.user, key=key, settings=dict(data.validated_data)
                )
        except idempotency.IdempotencyKeyReused as exc:
            return Response(
                error_payload("idempotency_key_reused", str(exc)),
                status=status.HTTP_409_CONFLICT,
            )
        except services.QueueUnavailable as exc:  # the job was failed at once
            return Response(
                error_payload("unavailable", str(exc)),
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(exc.retry_after_s)},
            )
        except services.RateLimited as exc:
            raise Throttled(wait=exc.retry_after, detail=str(exc)) from exc
        except services.SteeringError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        except services.GenerationError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        body = JobOutputSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class GenerationJobDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=JobOutputSerializer)
    def get(self, request: Request, job_id: int) -> Response:
        job = _own_job(request, job_id)
        return Response(JobOutputSerializer(job, context={"request": request}).data)


class GenerationJobCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=JobOutputSerializer)
    def post(self, request: Request, job_id: int) -> Response:
        job = services.generation_job_cancel(job=_own_job(request, job_id))
        return Response(JobOutputSerializer(job, context={"request": request}).data)
