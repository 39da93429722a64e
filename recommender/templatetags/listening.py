"""Template tags of the listening log: the state behind the rating controls."""

from django import template

from recommender.listening import selectors

register = template.Library()

_MISSING = object()


@register.simple_tag(takes_context=True)
def rating_state(context, track) -> dict:
    """The viewer's stars/like/"not interested" for ``track``, for ``rating_controls.html``.

    Uses a ``rating`` already in the context (lists pass it from ``ratings_by_track_for`` to
    save a query per row); otherwise looks it up (one query).
    """
    rating = context.get("rating", _MISSING)
    if rating is _MISSING or (rating is not None and rating.track_id != track.pk):
        rating = selectors.rating_for(context.get("user"), track)
    stars = rating.stars if rating and rating.stars else 0
    return {
        "rating": rating,
        "stars": stars,
        "star_choices": [(n, n <= stars) for n in range(1, 6)],
        "liked": bool(rating and rating.liked),
        "not_interested": bool(rating and rating.not_interested),
    }
