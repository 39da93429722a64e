"""HTML pages of the feed and discovery: the feed (home for listeners), radio, similar pieces.

The feed is an ordinary paginated page first ("Next page" links); with htmx the next page loads
when its link scrolls into view, and after the listener rates something the items after it are
fetched again from the rebuilt feed (``static/js/feed.js``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.models import Profile
from catalog.selectors import track_get
from musicsite.htmx import HtmxHttpRequest, wants_partial
from recommender.feed.builder import FIRST_PAGE
from recommender.feed.cursor import FeedCursor, InvalidCursor
from recommender.feed.radio import MAX_AFTER, parse_after, radio_next
from recommender.feed.selectors import FeedPage, ratings_for_tracks
from recommender.feed.services import feed_page_serve

PAGE_SIZE = FIRST_PAGE  # what the builder makes sure a new listener's first page holds
RADIO_BATCH = 15


def _items_context(request: HttpRequest, page: FeedPage) -> dict:
    ids = [item.track.pk for item in page.items]
    ratings = ratings_for_tracks(user=request.user, track_ids=ids)
    queue = urlencode({"queue": ",".join(map(str, ids)), "context": "feed"})
    return {
        "rows": [{"item": item, "rating": ratings.get(item.track.pk)} for item in page.items],
        "next_cursor": page.next_cursor.encode() if page.next_cursor else "",
        "queue_query": queue,
        # Build 0 never matches: a refresh starts the rebuilt feed minus what this visit showed.
        "session_cursor": FeedCursor(0, 0, page.since).encode(),
    }


def _cursor(request: HttpRequest) -> FeedCursor | None:
    raw = request.GET.get("cursor", "")
    return FeedCursor.decode(raw) if raw else None


@require_GET
@login_required
def feed(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in listener's feed; new listeners are sent to onboarding first."""
    profile = Profile.objects.filter(user=request.user).first()  # type: ignore[misc]  # signed in
    if (profile is None or not profile.is_onboarded) and "cursor" not in request.GET:
        return redirect("library:onboarding")
    try:
        cursor = _cursor(request)
    except InvalidCursor:
        return HttpResponseBadRequest("That page link is broken; start again from the top.")
    page = feed_page_serve(user=request.user, cursor=cursor, size=PAGE_SIZE)
    context = _items_context(request, page)
    if wants_partial(request):
        return render(request, "feed/feed.html#items", context)
    context.update({"page": page, "profile": profile, "first_page": cursor is None})
    return render(request, "feed/feed.html", context)


@require_GET
@login_required
def radio(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    """A radio from one piece: the queue so far, extended as the listener scrolls."""
    seed = track_get(user=request.user, pk=track_id)
    try:
        after = parse_after(request.GET.get("after", ""))
    except ValueError:
        return HttpResponseBadRequest("That radio link is broken.")
    batch = radio_next(user=request.user, seed=seed, after=after, k=RADIO_BATCH)
    queued = (after + [t.pk for t in batch])[-MAX_AFTER:]
    more = urlencode({"after": ",".join(map(str, queued))})
    play_ids = [seed.pk, *[t.pk for t in batch]] if not after else [t.pk for t in batch]
    context = {
        "seed": seed,
        "batch": batch,
        "more_query": more,
        "first": not after,
        "queue_query": urlencode({"queue": ",".join(map(str, play_ids)), "context": "radio"}),
    }
    if wants_partial(request):
        return render(request, "feed/radio.html#batch", context)
    return render(request, "feed/radio.html", context)
