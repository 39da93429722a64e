"""The request type of views that read ``request.htmx``, for type checkers."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request past django-htmx's middleware (``htmx`` is falsy unless htmx sent it)."""

    htmx: HtmxDetails


def wants_partial(request: HtmxHttpRequest) -> bool:
    """Whether htmx asked for a fragment of the page (a poll, a filter, infinite scroll).

    A boosted navigation (the site's links and forms, ``hx-boost`` on ``<body>``) and a history
    restore are htmx requests too, but they swap the whole page in: they get the full page."""
    details = request.htmx
    return bool(details) and not details.boosted and not details.history_restore_request
