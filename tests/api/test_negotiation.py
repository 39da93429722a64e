"""Content negotiation: JSON by default, the browsable API when a browser or ?format asks."""

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from musicsite.negotiation import ContentNegotiation
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("accept", "query", "expected"),
    [
        (None, "", "application/json"),
        ("*/*", "", "application/json"),
        ("application/json", "", "application/json"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "", "text/html"),
        ("*/*", "?format=api", "text/html"),
        ("text/html,*/*;q=0.8", "?format=json", "application/json"),
    ],
)
def test_renderer_follows_accept_and_format(accept, query, expected):
    track = TrackFactory()
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = APIClient().get(f"/api/v1/tracks/{track.pk}/{query}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(expected)


def test_unacceptable_type_is_a_406_in_the_error_format():
    response = APIClient().get("/api/v1/tracks/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"


class _VersionedJSON(JSONRenderer):
    media_type = "application/vnd.musicsite+json; version=2"


class _Plain(JSONRenderer):
    media_type = "text/plain"
    format = "txt"


@pytest.mark.parametrize(
    "renderers",
    [
        [JSONRenderer, BrowsableAPIRenderer],
        [BrowsableAPIRenderer, JSONRenderer],
        [_VersionedJSON, JSONRenderer],
        [_Plain, JSONRenderer],
    ],
    ids=["json-first", "html-first", "versioned-first", "plain-first"],
)
@pytest.mark.parametrize(
    "accept",
    [None, "", "*/*", "application/json", "application/json; charset=utf-8",
     "text/html", "application/json;q=0, */*;q=0.1", "application/xml"],
)  # fmt: skip
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
def test_fast_path_chooses_as_drf_does(renderers, accept, query):
    factory = APIRequestFactory()
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(factory.get(f"/x/{query}", **headers))
    instances = [cls() for cls in renderers]

    def choose(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, instances)
        except NotAcceptable:
            return "406"
        except Http404:  # ?format= names no renderer of the view
            return "404"
        return type(renderer).__name__, media_type

    assert choose(ContentNegotiation()) == choose(DefaultContentNegotiation())
