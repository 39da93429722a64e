"""Template tags of discovery: similar pieces and "Add to playlist" for the track page."""

from django import template

from accounts.library.playlists import playlists_for
from recommender.feed.selectors import similar_tracks

register = template.Library()

SIMILAR_ON_TRACK_PAGE = 6


@register.inclusion_tag("feed/similar.html", takes_context=True)
def similar_pieces(context, track, limit: int = SIMILAR_ON_TRACK_PAGE) -> dict:
    """Pieces like ``track`` (content similarity), as cards; nothing when there are none."""
    user = context.get("user")
    return {
        "track": track,
        "similar": similar_tracks(user=user, track=track, k=limit),
        "user": user,
        "request": context.get("request"),
    }


@register.inclusion_tag("playlists/add_to_playlist.html", takes_context=True)
def add_to_playlist(context, track) -> dict:
    """The "Add to playlist" form for ``track`` (signed-in listeners only)."""
    user = context.get("user")
    playlists = playlists_for(user) if user is not None and user.is_authenticated else []
    request = context.get("request")
    return {
        "track_id": track.pk,
        "playlists": playlists,
        "next_url": request.get_full_path() if request is not None else "",
        "user": user,
        "csrf_token": context.get("csrf_token"),
    }
