"""HTML pages of the catalog: browse with filters, and the track page with its player."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from catalog import player, selectors, services
from catalog.filters import TrackFilterForm, TrackFilters
from catalog.models import Track
from musicsite.htmx import HtmxHttpRequest, wants_partial

BROWSE_PAGE_SIZE = 24


def browse_context(request: HttpRequest) -> dict:
    """Everything the browse results need; shared with the signed-in home page."""
    form = TrackFilterForm(
        request.GET or None,
        user=request.user,
        key_choices=selectors.track_key_choices(user=request.user),
    )
    # A bad value (a tempo of "fast") is shown beside its field; the other filters still apply.
    filters = TrackFilters()
    if form.is_bound:
        form.is_valid()
        filters = form.to_filters()
    tracks = selectors.track_list(user=request.user, filters=filters)
    page = Paginator(tracks, BROWSE_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    queue = ",".join(str(track.pk) for track in page.object_list)
    return {
        "form": form,
        "filters": filters,
        "page_obj": page,
        "tracks": page.object_list,
        "filter_query": params.urlencode(),
        "track_query": urlencode({"queue": queue, "context": "browse"}),
    }


@require_GET
def browse(request: HtmxHttpRequest) -> HttpResponse:
    """Browse the catalog: title search, filters, 24 pieces a page; htmx swaps the results."""
    response = render(request, browse_template(request), browse_context(request))
    patch_vary_headers(response, ("HX-Request",))
    return response


def browse_template(request: HtmxHttpRequest) -> str:
    """Only the results partial for an htmx swap; the whole page otherwise (a boosted link, and
    a history restore, where htmx needs the full page)."""
    return "catalog/browse.html#results" if wants_partial(request) else "catalog/browse.html"


# "Piece 3 of 20 in …": what the player's queue is, by where the listener came from.
QUEUE_NAMES = {
    "feed": "your feed",
    "browse": "these results",
    "search": "these results",
    "radio": "this radio",
    "playlist": "this playlist",
    "home": "the home page's picks",
    "generated": "your pieces",
}


def _queue_name(context_label: str, track: Track, requested: list[int]) -> str:
    if track.pk not in requested and track.collection is not None:
        return f"{track.collection.name}, by title"  # no queue asked for: the collection
    return QUEUE_NAMES.get(context_label, "this queue")


def _player_context(request: HttpRequest, track: Track) -> dict:
    requested = selectors.parse_queue(request.GET.get("queue", ""))
    queue = selectors.track_queue(user=request.user, track=track, requested=requested)
    previous_id, next_id = selectors.queue_neighbours(queue, track.pk)
    context_label = selectors.clean_context(request.GET.get("context", ""))
    params = urlencode({"queue": ",".join(map(str, queue)), "context": context_label})
    others = Track.objects.filter(pk__in=queue).exclude(pk=track.pk)
    items = player.queue_items(queue, [track, *others.select_related("artist", "collection")])
    return {
        "track": track,
        "queue": queue,
        "queue_items": player.queue_json(items or [player.queue_item(track)]),
        "queue_position": queue.index(track.pk) + 1 if track.pk in queue else None,
        "player_context": context_label,
        "queue_name": _queue_name(context_label, track, requested),
        "queue_params": params,
        "previous_id": previous_id,
        "next_id": next_id,
        "autoplay": request.GET.get("autoplay") == "1",
    }


def _render_soon_if_pending(track: Track) -> None:
    """Someone is waiting on this piece's audio: render it ahead of the queue."""
    if track.render_status == Track.RenderStatus.PENDING:
        services.track_render_soon(track_id=track.pk)


@require_GET
def track_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A piece: its metadata, piano roll, player and MIDI download."""
    track = selectors.track_get(user=request.user, pk=pk)
    _render_soon_if_pending(track)
    return render(request, "catalog/track_detail.html", _player_context(request, track))


@require_GET
def track_player(request: HttpRequest, pk: int) -> HttpResponse:
    """The player partial, polled while the audio is rendered; stops the polling when done."""
    track = selectors.track_get(user=request.user, pk=pk)
    _render_soon_if_pending(track)
    context = _player_context(request, track)
    html = render_to_string("catalog/track_detail.html#player", context, request=request)
    if track.render_status in (Track.RenderStatus.PENDING, Track.RenderStatus.RENDERING):
        return HttpResponse(html)
    if track.pianoroll_image:  # drawn with the audio: it replaces the page's empty slot
        context["oob"] = True
        html += render_to_string("catalog/track_detail.html#pianoroll", context, request=request)
    return HttpResponseStopPolling(html)


@require_GET
def track_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The piece as the player's queue item (``catalog.player``): the player polls it, gently,
    while the piece it is waiting to play is rendered (and asks for it to be rendered soon)."""
    track = selectors.track_get(user=request.user, pk=pk)
    _render_soon_if_pending(track)
    response = JsonResponse(player.queue_item(track))
    add_never_cache_headers(response)
    return response
