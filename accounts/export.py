"""A listener's own data, exported as a zip (deleting the account is ``accounts.deletion``).

The zip holds JSON and CSV side by side (JSON for programs, CSV for spreadsheets):

    README.txt            what each file is
    profile.json          the account
    listens.json/.csv     every listen (play, skip, completion) in the history
    ratings.json/.csv     stars, likes and "not interested" marks
    likes.csv             the liked pieces alone
    generated/pieces.json/.csv and generated/midi/<id>-<title>.mid
                          the pieces generated for the listener, with their MIDI files
    generated/jobs.json   the "make me a song" requests
    playlists.json        playlists with their pieces in order
    devices.json          the signed-in devices (API tokens: names and dates, never a token)
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tempfile
import zipfile
from typing import IO

from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiToken, Playlist, Profile
from catalog.models import Track
from generator.models import GenerationJob
from recommender.models import ListenEvent, ListeningSettings, Rating

logger = logging.getLogger(__name__)

LISTEN_FIELDS = [
    "id",
    "client_event_id",
    "session_id",
    "track_id",
    "track_title",
    "context",
    "started_at",
    "position_ms",
    "played_ms",
    "duration_ms",
    "counted",
    "completed",
    "skipped",
]
RATING_FIELDS = ["track_id", "track_title", "stars", "liked", "not_interested", "updated_at"]
PIECE_FIELDS = [
    "id",
    "title",
    "status",
    "created_at",
    "duration_seconds",
    "tempo_bpm",
    "key",
    "time_signature",
    "instruments",
    "note_count",
    "midi_path",
]
README = """Your musicsite data, exported {when} for {username}.

profile.json          your account
listens.json/.csv     every listen in your history (counted = heard 30 s or half the piece;
                      skipped = moved on before that; completed = played to the end)
ratings.json/.csv     your stars (1-5), likes and "not interested" marks
likes.csv             the pieces you liked
generated/            the pieces generated for you (pieces.json/.csv), their MIDI files and
                      your "make me a song" requests (jobs.json)
playlists.json        your playlists, with their pieces in order
devices.json          the apps and devices signed in with an API token (no token is exported)
"""


def _write_table(archive: zipfile.ZipFile, name: str, fields: list[str], rows: list[dict]) -> None:
    archive.writestr(f"{name}.json", json.dumps(rows, cls=DjangoJSONEncoder, indent=1))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()})
    archive.writestr(f"{name}.csv", text.getvalue())


def _listens(user) -> list[dict]:
    rows = ListenEvent.objects.filter(user=user).order_by("started_at", "id")
    fields = [f for f in LISTEN_FIELDS if f != "track_title"]
    return [
        {**row, "track_title": row.pop("track__title")}
        for row in rows.values(*fields, "track__title").iterator(chunk_size=2000)
    ]


def _ratings(user) -> list[dict]:
    rows = Rating.objects.filter(user=user).order_by("updated_at", "id")
    fields = [f for f in RATING_FIELDS if f != "track_title"]
    return [
        {**row, "track_title": row.pop("track__title")}
        for row in rows.values(*fields, "track__title")
    ]


def _pieces(user, archive: zipfile.ZipFile) -> list[dict]:
    rows = []
    for track in Track.objects.filter(owner=user).order_by("created_at", "id"):
        row = {f: getattr(track, f) for f in PIECE_FIELDS if f != "midi_path"}
        row["midi_path"] = ""
        if track.midi_file and default_storage.exists(track.midi_file.name):
            path = f"generated/midi/{track.pk}-{slugify(track.title) or 'piece'}.mid"
            with default_storage.open(track.midi_file.name, "rb") as midi:
                archive.writestr(path, midi.read())
            row["midi_path"] = path
        rows.append(row)
    return rows


def _jobs(user) -> list[dict]:
    fields = [
        "id",
        "status",
        "settings",
        "primer_track_id",
        "track_id",
        "error",
        "created_at",
        "finished_at",
    ]
    return list(GenerationJob.objects.filter(user=user).order_by("created_at").values(*fields))


def _playlists(user) -> list[dict]:
    playlists = Playlist.objects.filter(owner=user).prefetch_related("items__track")
    return [
        {
            "name": playlist.name,
            "description": playlist.description,
            "created_at": playlist.created_at,
            "tracks": [
                {"track_id": item.track_id, "track_title": item.track.title}
                for item in sorted(playlist.items.all(), key=lambda i: i.position)
            ],
        }
        for playlist in playlists
    ]


def _devices(user) -> list[dict]:
    fields = ["id", "name", "created", "last_used_at", "expiry"]
    return list(ApiToken.objects.filter(user=user).order_by("created", "id").values(*fields))


def _tastes(user) -> dict:
    profile = Profile.objects.filter(user=user).first()
    if profile is None:
        return {}
    return {
        "collections": list(profile.collections.values_list("name", flat=True)),
        "artists": list(profile.artists.values_list("name", flat=True)),
        "tags": list(profile.tags.values_list("name", flat=True)),
        "tempo_ranges": profile.tempo_ranges,
        "onboarded_at": profile.onboarded_at,
    }


def _dump(archive: zipfile.ZipFile, name: str, data) -> None:
    archive.writestr(name, json.dumps(data, cls=DjangoJSONEncoder, indent=1))


def export_build(*, user) -> IO[bytes]:
    """Write ``user``'s data as a zip into a temporary file; return it rewound."""
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (returned open)
    settings_row = ListeningSettings.objects.filter(user=user).first()
    profile = {
        "username": user.username,
        "email": user.email,
        "date_joined": user.date_joined,
        "history_paused": bool(settings_row and settings_row.history_paused),
        "tastes": _tastes(user),
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        now = timezone.now()
        archive.writestr("README.txt", README.format(when=now.isoformat(), username=user.username))
        archive.writestr("profile.json", json.dumps(profile, cls=DjangoJSONEncoder, indent=1))
        _write_table(archive, "listens", LISTEN_FIELDS, _listens(user))
        ratings = _ratings(user)
        _write_table(archive, "ratings", RATING_FIELDS, ratings)
        likes = io.StringIO()
        writer = csv.writer(likes)
        writer.writerow(["track_id", "track_title", "updated_at"])
        writer.writerows(
            (r["track_id"], r["track_title"], r["updated_at"]) for r in ratings if r["liked"]
        )
        archive.writestr("likes.csv", likes.getvalue())
        pieces = _pieces(user, archive)
        _write_table(archive, "generated/pieces", PIECE_FIELDS, pieces)
        _dump(archive, "generated/jobs.json", _jobs(user))
        _dump(archive, "playlists.json", _playlists(user))
        _dump(archive, "devices.json", _devices(user))
    logger.info("exported the data of user %s", user.pk)
    out.seek(0)
    return out


def export_filename(*, user) -> str:
    return f"musicsite-{slugify(user.username) or user.pk}-{timezone.now():%Y%m%d}.zip"
