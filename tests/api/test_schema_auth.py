"""The OpenAPI schema documents one security scheme per way of authenticating, even where a
view authenticates with a subclass of the site's class (one that reads more in the same query)."""

from django.urls import path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

SITE_WIDE = api_settings.DEFAULT_AUTHENTICATION_CLASSES


class LeanAuthentication(SITE_WIDE[0]):
    """The site's first authentication class, reading a little more along the way."""


class PlainView(APIView):
    def get(self, request):
        return Response({})


class LeanView(PlainView):
    authentication_classes = [LeanAuthentication, *SITE_WIDE[1:]]


def _schema_and_warnings() -> tuple[dict, list[str]]:
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(
        patterns=[path("plain/", PlainView.as_view()), path("lean/", LeanView.as_view())]
    )
    with GENERATOR_STATS.silence():
        schema = generator.get_schema(request=None, public=True)
    warnings = list(GENERATOR_STATS._warn_cache)
    GENERATOR_STATS.reset()
    return schema, warnings


def test_a_subclass_of_the_site_authentication_is_the_same_scheme():
    schema, warnings = _schema_and_warnings()
    assert warnings == []  # no "2 components with identical names" (check --deploy's W001)
    paths = schema["paths"]
    assert paths["/lean/"]["get"]["security"] == paths["/plain/"]["get"]["security"]
    assert len(schema["components"]["securitySchemes"]) == len(SITE_WIDE)
