"""The request type of views that read ``request.htmx``, for type checkers."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request past django-htmx's middleware (``htmx`` is falsy unless htmx sent it)."""

    htmx: HtmxDetails
