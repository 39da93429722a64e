"""Content negotiation that names a bad ``?format=`` (400) instead of answering 404.

DRF answers a ``format`` no renderer of the view has with a bare 404, as if the resource were
missing; the client sent a wrong value, so it gets the API's 400 naming the parameter and the
formats the endpoint has.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        name = self.settings.URL_FORMAT_OVERRIDE
        if not format_suffix and name and request.query_params.get(name, None) == "":
            raise _unknown("", renderers)  # DRF ignores an empty one: a typo passes unseen
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(self, renderers, format):
        chosen = [renderer for renderer in renderers if renderer.format == format]
        if not chosen:
            raise _unknown(format, renderers)
        return chosen


def _unknown(format: str, renderers) -> ValidationError:
    known = ", ".join(sorted({str(renderer.format) for renderer in renderers}))
    return ValidationError({"format": [f"Unknown format “{format[:40]}”; choose one of {known}."]})
