"""The OpenAPI schema class of the API (a module of its own: importing drf-spectacular's
AutoSchema loads DRF's views, which load the classes the API's settings name)."""

from typing import cast

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.authentication import BaseAuthentication
from rest_framework.settings import api_settings


def _as_documented(authenticator: BaseAuthentication) -> BaseAuthentication:
    """The site-wide authentication class ``authenticator`` subclasses, if any: on the wire
    the subclass is that scheme (it only reads more in the same query)."""
    # api_settings imports the dotted paths (the stubs type them as the strings).
    classes = cast(list[type[BaseAuthentication]], api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    for cls in classes:
        if type(authenticator) is not cls and isinstance(authenticator, cls):
            return cls()
    return authenticator


class AutoSchema(SpectacularAutoSchema):
    """Name nested serializers after their view (``RatingApi.InputSerializer`` becomes the
    component ``RatingApiInput``) so that every view may call its own ``InputSerializer``.

    A view whose ``DELETE`` takes a body (``DELETE /me/`` takes the password) says so with
    ``delete_has_body = True``: drf-spectacular documents bodies of PUT, PATCH and POST only.
    """

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE" or not getattr(self.view, "delete_has_body", False):
            return super()._get_request_body(direction)
        self.method = "POST"  # drf-spectacular's rule is on the method alone
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def get_serializer_name(self, serializer, direction) -> str:
        qualname = type(serializer).__qualname__
        if "." in qualname and "<locals>" not in qualname:
            return qualname.replace(".", "")
        return super().get_serializer_name(serializer, direction)

    def get_auth(self) -> list:
        """As drf-spectacular's, with a view's subclass of a site-wide authentication class
        documented as that class: one security scheme for one way of signing requests, where
        two classes under one component name would make a wrong schema (drf-spectacular W001)."""
        view = self.view
        authenticators = [_as_documented(a) for a in view.get_authenticators()]
        view.get_authenticators = lambda: authenticators  # type: ignore[method-assign]  # this schema pass's view instance only
        try:
            return super().get_auth()
        finally:
            del view.get_authenticators
