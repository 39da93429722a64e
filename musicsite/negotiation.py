"""Content negotiation for the API (``DEFAULT_CONTENT_NEGOTIATION_CLASS``)."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

__all__ = ["ContentNegotiation"]


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a fast path for what mobile clients send: no ``Accept`` header,
    ``*/*`` or the first renderer's own type (JSON), and no ``?format=``. DRF parses and ranks
    the header on every request; this answers those at once, with DRF's result. A first
    renderer whose type has parameters (``; version=2``) goes through DRF's matching.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        first = renderers[0] if renderers else None
        if (
            first is not None
            and ";" not in first.media_type
            and accept in ("*/*", first.media_type)
            and not format_suffix
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
