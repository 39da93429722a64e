"""One function decides a client's address: the peer's, unless proxies are configured."""

import pytest
from django.test import RequestFactory

from musicsite.client_address import client_address


def _request(remote="203.0.113.9", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "203.0.113.9"),  # no proxy: the header is ignored
        (0, None, "203.0.113.9"),
        (1, "1.1.1.1, 198.51.100.7", "198.51.100.7"),  # the address the proxy saw
        (2, "1.1.1.1, 198.51.100.7, 10.0.0.5", "198.51.100.7"),
        (3, "198.51.100.7", "198.51.100.7"),  # fewer entries than proxies: the leftmost
        (1, None, "203.0.113.9"),  # a request that skipped the proxy
        (1, "1.1.1.1, not-an-address", "203.0.113.9"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address(settings, proxies, forwarded, expected):
    settings.NUM_PROXIES = proxies
    assert client_address(_request(forwarded=forwarded)) == expected


def test_no_valid_address_is_none(settings):
    settings.NUM_PROXIES = 0
    assert client_address(_request(remote="")) is None
