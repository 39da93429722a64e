"""Template filters for showing music metadata: durations and tempos."""

from django import template

from catalog.midi import pitch_name

register = template.Library()


@register.filter
def mmss(seconds: float | int | None) -> str:
    """90.4 -> "1:30"; an hour or more -> "1:02:03"."""
    if seconds is None:
        return ""
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def bpm(value: float | int | None) -> str:
    """112.3 -> "112 bpm"."""
    return "" if value is None else f"{round(float(value))} bpm"


@register.filter
def note_name(midi_pitch: int | None) -> str:
    """60 -> "C4" (scientific pitch notation)."""
    if midi_pitch is None:
        return ""
    return pitch_name(int(midi_pitch))


@register.filter
def milliseconds(seconds: float | int | None) -> int:
    """Seconds as whole milliseconds, for data attributes."""
    return 0 if seconds is None else round(float(seconds) * 1000)


@register.filter
def queue_item(track) -> str:
    """A piece as the player's queue item (JSON, for a ``data-queue-item`` attribute)."""
    from catalog.player import queue_item as item
    from catalog.player import queue_json

    return queue_json(item(track))


@register.filter
def pitch_axis(track) -> list[dict]:
    """The piano roll's pitch labels: every C, and the outer notes (``catalog.player``)."""
    from catalog.player import pitch_axis as axis

    return axis(track.pitch_min, track.pitch_max)


@register.filter
def htmx_partial(request) -> bool:
    """Whether htmx asked for a fragment (not a boosted page, not a history restore): what
    out-of-band swaps are for (``musicsite.htmx.wants_partial``)."""
    from musicsite.htmx import wants_partial

    return hasattr(request, "htmx") and wants_partial(request)
