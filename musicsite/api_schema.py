"""The OpenAPI schema class of the API (a module of its own: importing drf-spectacular's
AutoSchema loads DRF's views, which load the classes the API's settings name)."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Name nested serializers after their view (``RatingApi.InputSerializer`` becomes the
    component ``RatingApiInput``) so that every view may call its own ``InputSerializer``."""

    def get_serializer_name(self, serializer, direction) -> str:
        qualname = type(serializer).__qualname__
        if "." in qualname and "<locals>" not in qualname:
            return qualname.replace(".", "")
        return super().get_serializer_name(serializer, direction)
