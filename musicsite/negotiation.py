"""Content negotiation that names a bad ``?format=`` (400) instead of answering 404.

DRF answers a ``format`` no renderer of the view has with a bare 404, as if the resource were
missing; the client sent a wrong value, so it gets the API's 400 naming the parameter and the
formats the endpoint has.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):
        chosen = [renderer for renderer in renderers if renderer.format == format]
        if not chosen:
            known = ", ".join(sorted({str(renderer.format) for renderer in renderers}))
            shown = format[:40]
            raise ValidationError({"format": [f"Unknown format “{shown}”; choose one of {known}."]})
        return chosen
