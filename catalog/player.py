"""What the site's persistent player is told about a piece (``static/js/player.js``).

Pages hand the player its queue as JSON items, one per piece (the track cards' and the track
page's ``data-queue-item(s)``), and the player asks ``catalog:track_status`` for the same item
while a piece's audio is still being rendered. One shape everywhere:

    {"id", "title", "artist", "collection", "url", "audio", "status", "durationMs", "roll"}

``audio`` is null until the piece is rendered (``status`` then says "pending" or "rendering";
"failed" never plays); ``roll`` is the piano roll's URL, null until drawn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.urls import reverse

from catalog.midi import pitch_name
from catalog.models import Track
from catalog.rendering import ROLL_MARGIN


def queue_item(track: Track) -> dict:
    ready = track.render_status == Track.RenderStatus.READY and bool(track.audio_file)
    return {
        "id": track.pk,
        "title": track.title,
        "artist": track.artist.name if track.artist else "",
        "collection": track.collection.name if track.collection else "",
        "url": track.get_absolute_url(),
        "audio": reverse("catalog:track_audio", args=[track.pk]) if ready else None,
        "status": track.render_status,
        "durationMs": round(float(track.duration_seconds or 0) * 1000),
        "roll": reverse("catalog:track_pianoroll", args=[track.pk])
        if track.pianoroll_image
        else None,
    }


def queue_items(ids: list[int], tracks: Iterable[Track]) -> list[dict]:
    """``tracks`` as queue items in the order of ``ids`` (ids without a track are left out)."""
    by_id = {track.pk: track for track in tracks}
    return [queue_item(by_id[pk]) for pk in ids if pk in by_id]


def queue_json(items: list[dict] | dict) -> str:
    """Items (or one) as compact JSON, for a data attribute (the template escapes it)."""
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def pitch_axis(pitch_min: int | None, pitch_max: int | None) -> list[dict]:
    """Labels for the piano roll's pitch axis: every C (on its grid line), and the lowest and
    highest notes where no C is near, each with its height from the bottom in percent (the
    roll, ``catalog.rendering.draw_pianoroll``, spans ``ROLL_MARGIN`` beyond both)."""
    if pitch_min is None or pitch_max is None or pitch_max < pitch_min:
        return []
    low, high = pitch_min - ROLL_MARGIN, pitch_max + ROLL_MARGIN
    rows = high - low + 1

    def bottom(pitch: float) -> float:
        return round((pitch - low) / rows * 100, 2)

    octaves = [p for p in range(low, high + 1) if p % 12 == 0]
    labels = [
        {"pitch": p, "name": pitch_name(p), "bottom": bottom(p), "octave": True} for p in octaves
    ]
    for pitch in sorted({pitch_min, pitch_max}):
        if all(abs(pitch - c) > 3 for c in octaves):  # centred on the note's row
            labels.append(
                {
                    "pitch": pitch,
                    "name": pitch_name(pitch),
                    "bottom": bottom(pitch + 0.5),
                    "octave": False,
                }
            )
    return sorted(labels, key=lambda label: label["bottom"])
