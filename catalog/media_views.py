"""Media of a track (audio, MIDI, piano roll), served with HTTP range requests so players can seek.

Visibility follows ``Track.objects.visible_to``: a draft, hidden or another listener's private
piece is a 404. Staff may also fetch draft and hidden public pieces (for curation). The viewer is
the browser session's listener, or the one a valid ``?sig=`` was minted for (``catalog.media_urls``:
how API clients holding only a token play their private pieces); a tampered or expired signature
grants nothing, so the piece is then as much a 404 as a missing one.

Audio is Ogg Vorbis or MP3 (iOS cannot play Vorbis): ``?format=ogg|mp3`` asks for one (anything
else is a 400; an MP3 not rendered yet is a 404); without it the ``Accept`` header picks (MP3
when the client takes ``audio/mpeg`` at least as gladly as ``audio/ogg``; Ogg when it sends no
``Accept``, and whenever the MP3 is missing), with ``Vary: Accept``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import IO

from django.db.models import Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseNotFound,
    StreamingHttpResponse,
)
from django.http.request import MediaType
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from catalog.media_urls import FORMAT_PARAM, SIGNATURE_PARAM, MediaKind, media_signed_user
from catalog.models import Track

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024
AUDIO_TYPES = {"ogg": "audio/ogg", "mp3": "audio/mpeg"}


def _visible_track(request: HttpRequest, pk: int, kind: MediaKind) -> Track:
    signed_user = media_signed_user(request.GET.get(SIGNATURE_PARAM, ""), track_id=pk, kind=kind)
    if signed_user is not None:
        track = Track.objects.visible_to(signed_user).filter(pk=pk).first()
        if track is not None:
            return track
    tracks = Track.objects.visible_to(request.user)
    if request.user.is_staff:
        tracks = Track.objects.filter(Q(pk__in=tracks.values("pk")) | Q(owner__isnull=True))
    return get_object_or_404(tracks, pk=pk)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Return the inclusive byte span of a single-range ``Range`` header, or None if absent.

    Raises ``ValueError`` when the range cannot be satisfied for a file of ``size`` bytes.
    Several ranges (``bytes=0-1,5-6``) or a malformed header are ignored (None): the
    whole file is then sent, which RFC 9110 allows.
    """
    match = _RANGE_RE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise ValueError("range starts beyond the end of the file")
    return start, min(end, size - 1)


def _iter_span(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def serve_file(
    request: HttpRequest, field, content_type: str, filename: str | None = None
) -> HttpResponseBase:
    """Send a stored file, honouring a single ``Range`` header (206 / 416)."""
    if not field:
        raise Http404("This file is not available yet.")
    storage, name = field.storage, field.name
    if not storage.exists(name):
        raise Http404("This file is missing from storage.")
    size = storage.size(name)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    with contextlib.suppress(NotImplementedError, OSError):
        headers["Last-Modified"] = http_date(storage.get_modified_time(name).timestamp())
    response: HttpResponseBase
    try:
        span = parse_range(request.headers.get("Range", ""), size)
    except ValueError:
        response = HttpResponse(status=416, headers=headers)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle = storage.open(name, "rb")
    if span is None:
        response = FileResponse(
            handle,
            content_type=content_type,
            headers=headers,
            as_attachment=bool(filename),
            filename=filename or "",
        )
        response["Content-Length"] = str(size)
        return response
    start, end = span
    length = end - start + 1
    if request.method == "HEAD":
        handle.close()
        response = HttpResponse(status=206, content_type=content_type, headers=headers)
    else:
        response = StreamingHttpResponse(
            _iter_span(handle, start, length),
            status=206,
            content_type=content_type,
            headers=headers,
        )
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    return response


def accept_quality(accept: str, media_type: str) -> float:
    """The weight (q) an ``Accept`` header gives ``media_type``: that of the most specific range
    matching it (RFC 9110, 12.5.1), so ``audio/mpeg;q=0, */*`` refuses MP3; 0 when none does."""
    target = MediaType(media_type)
    matching = [MediaType(token) for token in accept.split(",") if target.match(token.strip())]
    if not matching:
        return 0.0
    return max(matching, key=lambda accepted: accepted.specificity).quality


def negotiated_audio_format(accept: str) -> str:
    """``mp3`` when the client accepts ``audio/mpeg`` and does not prefer ``audio/ogg``; else
    ``ogg``, the default (also with no ``Accept`` header at all)."""
    if not accept.strip():
        return "ogg"
    mp3 = accept_quality(accept, AUDIO_TYPES["mp3"])
    return "mp3" if mp3 > 0 and mp3 >= accept_quality(accept, AUDIO_TYPES["ogg"]) else "ogg"


@require_safe
def track_audio(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A track's rendered audio, Ogg Vorbis or MP3 (404 until rendering is done)."""
    asked = request.GET.get(FORMAT_PARAM)
    if asked is not None and asked not in AUDIO_TYPES:
        return HttpResponseBadRequest(
            f"Unknown {FORMAT_PARAM}={asked[:20]!r}: the {FORMAT_PARAM} parameter takes "
            f"{' or '.join(AUDIO_TYPES)}.",
            content_type="text/plain; charset=utf-8",
        )
    track = _visible_track(request, pk, "audio")
    response: HttpResponseBase
    if asked == "mp3" and not track.audio_mp3_file:
        response = HttpResponseNotFound(
            "The MP3 of this piece is not available yet; try again later, or ask for "
            f"{FORMAT_PARAM}=ogg.",
            content_type="text/plain; charset=utf-8",
        )
    else:
        chosen = asked or negotiated_audio_format(request.headers.get("Accept", ""))
        if chosen == "mp3" and track.audio_mp3_file:
            response = serve_file(request, track.audio_mp3_file, AUDIO_TYPES["mp3"])
        else:
            response = serve_file(request, track.audio_file, AUDIO_TYPES["ogg"])
    patch_vary_headers(response, ["Accept"])
    return response


@require_safe
def track_midi(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The track's MIDI file, as a download."""
    track = _visible_track(request, pk, "midi")
    filename = f"{slugify(track.title)[:80] or 'track'}-{track.pk}.mid"
    return serve_file(request, track.midi_file, "audio/midi", filename=filename)


@require_safe
def track_pianoroll(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The piano-roll PNG of a track."""
    track = _visible_track(request, pk, "pianoroll")
    return serve_file(request, track.pianoroll_image, "image/png")
