"""Celery tasks of the catalog: thin wrappers around one service call each."""

from celery import shared_task

from catalog import services


@shared_task(name="catalog.render_track", soft_time_limit=600, time_limit=660)
def render_track(track_id: int, skip_ready: bool = False) -> str:
    """Render a track's audio and piano roll; the row records ready/failed."""
    track = services.track_render(track_id=track_id, skip_ready=skip_ready)
    return track.render_status
