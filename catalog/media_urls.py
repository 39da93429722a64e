"""Media URLs of a track (audio, MIDI, piano roll): the one rule that builds them and checks them.

A public piece's URL is plain: anyone may fetch it. A private piece's URL carries ``?sig=``, a
``TimestampSigner`` token bound to the track, the kind of media and the listener it was minted
for, valid ``MEDIA_URL_MAX_AGE``: a phone holding only an API token can then play the piece
without a browser session. The media views still apply ``Track.objects.visible_to`` to that
listener, so a signature grants what its listener may see and nothing more.

Audio comes in two renditions, Ogg Vorbis and MP3 (for iOS): ``?format=ogg|mp3`` picks one, and
an audio signature holds for both (``...?sig=...&format=mp3``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse

from catalog.models import Track

MediaKind = Literal["audio", "midi", "pianoroll"]
AudioFormat = Literal["ogg", "mp3"]
MEDIA_URL_MAX_AGE = timedelta(hours=6)
SIGNATURE_PARAM = "sig"
FORMAT_PARAM = "format"
_ROUTES: dict[str, str] = {
    "audio": "catalog:track_audio",
    "midi": "catalog:track_midi",
    "pianoroll": "catalog:track_pianoroll",
}


def _signer(track_id: int, kind: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"catalog.media:{track_id}:{kind}")


def media_path(
    track: Track, kind: MediaKind, *, user, audio_format: AudioFormat | None = None
) -> str:
    """The path of ``track``'s ``kind`` media for ``user``: signed for ``user`` when private;
    with ``audio_format``, that rendition of the audio (without, the server picks: Ogg unless
    the client's ``Accept`` favours MP3)."""
    if audio_format is not None and kind != "audio":
        raise ValueError(f"{kind} media has no audio format")
    path = reverse(_ROUTES[kind], args=[track.pk])
    params = []
    if track.is_private and user is not None and user.is_authenticated:
        params.append(f"{SIGNATURE_PARAM}={_signer(track.pk, kind).sign(str(user.pk))}")
    if audio_format is not None:
        params.append(f"{FORMAT_PARAM}={audio_format}")
    return f"{path}?{'&'.join(params)}" if params else path


def media_signed_user(token: str, *, track_id: int, kind: MediaKind):
    """The active listener ``token`` was minted for on this track and kind, or None when the
    token is tampered with, expired, for another track or kind, or its listener is gone."""
    if not token or len(token) > 200:
        return None
    try:
        user_id = _signer(track_id, kind).unsign(token, max_age=MEDIA_URL_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not user_id.isdigit():
        return None
    return get_user_model().objects.filter(pk=int(user_id), is_active=True).first()
