"""Celery tasks of the catalog: thin wrappers around one service call each."""

from celery import shared_task

from catalog import services, services_recovery


# A worker lost mid-render gives the message back to the queue; a render that died on every
# try is failed instead (services.track_render counts them).
@shared_task(
    name="catalog.render_track",
    soft_time_limit=600,
    time_limit=660,
    acks_late=True,
    reject_on_worker_lost=True,
)
def render_track(track_id: int, skip_ready: bool = False, mp3: bool = True) -> str:
    """Render a track's audio and piano roll; the row records ready/failed. ``mp3``: queue its
    MP3 once ready (the demo import leaves them until every piece plays)."""
    track = services.track_render(track_id=track_id, skip_ready=skip_ready, queue_mp3=mp3)
    return track.render_status


@shared_task(name="catalog.encode_track_mp3", soft_time_limit=600, time_limit=660)
def encode_track_mp3(track_id: int) -> bool:
    """Add the MP3 to a ready track that lacks one; True if it has it now."""
    track = services.track_encode_mp3(track_id=track_id)
    return bool(track is not None and track.audio_mp3_file)


@shared_task(name="catalog.reap_renders", soft_time_limit=60, time_limit=90)
def reap_renders() -> dict[str, int]:
    """Beat entry: queue again or fail renders whose worker died."""
    return services_recovery.track_renders_reap()
