"""The API's shared plumbing: one error format and schema hooks (throttling lives in
``musicsite.throttling``).

Every error under ``/api/v1/`` has one shape::

    {"error": {"code": "invalid", "message": "rating: Ensure ...", "fields": {"rating": ["..."]}}}

``code`` is a stable machine-readable string, ``message`` a sentence a developer can show, and
``fields`` (present on validation errors only) maps each bad field to its messages. The DRF
exception handler below applies it; ``api_not_found`` gives unknown API paths the same shape.
Throttled requests (``musicsite.throttling``) get ``429`` with a ``Retry-After`` header (whole
seconds); every response of a throttled request, 2xx and 429 alike, carries the
``X-RateLimit-*`` headers, documented once as header components.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.fields import empty
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.utils import html
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

ERROR_SCHEMA_NAME = "Error"


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested validation detail into ``{"field.sub": ["message", ...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for sub, messages in _flatten_fields(value, name).items():
                out.setdefault(sub, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    name = f"{prefix}.{index}" if prefix else str(index)
                    for sub, messages in _flatten_fields(item, name).items():
                        out.setdefault(sub, []).extend(messages)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _first_code(codes: Any, default: str) -> str:
    while isinstance(codes, (dict, list)):
        if not codes:
            return default
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes) if codes else default


def error_payload(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The body of every API error."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _validation_payload(exc: exceptions.ValidationError) -> dict[str, Any]:
    fields = _flatten_fields(exc.detail)
    general = fields.pop("non_field_errors", [])
    parts = list(general) + [f"{name}: {' '.join(msgs)}" for name, msgs in fields.items()]
    message = "; ".join(parts) or "The request was invalid."
    # One bad field: its own code ("required", "max_value"...); several: "invalid".
    code = _first_code(exc.get_codes(), "invalid") if len(fields) <= 1 else "invalid"
    return error_payload(code, message, fields or None)


def _json_body(field: serializers.Field) -> bool:
    """Whether ``field``'s value came in a JSON body (typed), not a form (all text)."""
    return not html.is_html_input(getattr(field.root, "initial_data", None))


class InputBooleanField(serializers.BooleanField):
    """A boolean the request may leave out, in JSON and in a form alike; in JSON, true or false.

    DRF reads a boolean missing from a form-encoded body as False (an HTML form omits an
    unticked checkbox), so a form PUT of ``stars`` alone cleared a like, and a required one
    was never missing; and it took 0, 1 or "yes" from JSON, where the schema says boolean."""

    default_empty_html = empty

    def to_internal_value(self, data: Any) -> bool:
        if _json_body(self) and not isinstance(data, bool):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


class InputCharField(serializers.CharField):
    """Text that, in a JSON body, must be a string (DRF turns a number into text)."""

    def to_internal_value(self, data: Any) -> str:
        if _json_body(self) and not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _request_refused(exc: SuspiciousOperation) -> exceptions.APIException:
    """Django's refusals of a request body (over ``DATA_UPLOAD_MAX_*``) as API errors."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
        return PayloadTooLarge(f"The request body is larger than the {limit:g} MiB limit.")
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return exceptions.ParseError(f"More than {limit} form fields.", code="too_many_fields")
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return exceptions.ParseError(f"More than {limit} files.", code="too_many_files")
    return exceptions.ParseError("The request was refused as malformed.", code="bad_request")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every error in the one format, unexpected ones as 500."""
    if isinstance(exc, SuspiciousOperation):
        exc = _request_refused(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("Unhandled API error in %s", type(view).__name__ if view else "?")
        set_rollback()
        return Response(
            error_payload("server_error", "Something went wrong on our side; please retry."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(max(1, math.ceil(wait or 1)))

    if isinstance(exc, exceptions.ValidationError):
        data = _validation_payload(exc)
    else:
        detail = exc.detail
        if isinstance(detail, (dict, list)):
            data = _validation_payload(exceptions.ValidationError(detail))
            data["error"]["code"] = exc.default_code
        else:
            code = getattr(detail, "code", None) or exc.default_code
            data = error_payload(str(code), str(detail))
    set_rollback()
    return Response(data, status=exc.status_code, headers=headers)


def absolute_uri(serializer_context: dict[str, Any], path: str) -> str:
    """``path`` as an absolute URL for the request in a serializer's context (else as it is)."""
    request = serializer_context.get("request")
    return request.build_absolute_uri(path) if request else path


@csrf_exempt  # a 404 for any method: nothing to protect, and no HTML 403 instead
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown paths under /api/v1/ answer in the API's error format, not an HTML page."""
    message = f"No API endpoint at {request.path[:200]}."
    if not request.path.endswith("/"):
        match = resolve_or_none(request.path + "/")
        if match is not None and match.func is not api_not_found:
            message += f" Did you mean {request.path}/ (with the trailing slash)?"
    return JsonResponse(error_payload("not_found", message), status=404)


def resolve_or_none(path: str):
    """``resolve(path)`` or None when nothing matches."""
    try:
        return resolve(path)
    except Resolver404:
        return None


# --- OpenAPI schema ---------------------------------------------------------------------------


_ERROR_COMPONENT = {
    "type": "object",
    "description": "Every API error has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "What went wrong, for people."},
                "fields": {
                    "type": "object",
                    "description": "Validation errors: field name to its messages.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

_ERROR_DESCRIPTIONS = {
    "400": "Malformed or invalid input",
    "401": "Authentication credentials were missing or wrong",
    "403": "Not allowed",
    "404": "Not found",
    "406": "Not acceptable",
    "413": "Request too large",
    "415": "Unsupported media type",
    "429": "Throttled; retry after the number of seconds in Retry-After",
}


_RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed per period in the budget this response reports: of "
    "the caller's budget (per account, or per address when anonymous) and the endpoint's, the "
    "one closest to running out, or the one that refused a 429.",
    "X-RateLimit-Remaining": "Requests left in that budget (0 on a 429).",
    "X-RateLimit-Reset": "Whole seconds until X-RateLimit-Remaining goes up again (on a 429, "
    "as Retry-After).",
}


def _rate_limit_headers(components: dict[str, Any]) -> dict[str, Any]:
    """The ``X-RateLimit-*`` header components, added to ``components``; refs to them."""
    headers = components.setdefault("headers", {})
    refs = {}
    for name, description in _RATE_LIMIT_HEADERS.items():
        headers[name] = {
            "description": description,
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
        refs[name] = {"$ref": f"#/components/headers/{name}"}
    return refs


def _error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can really answer, read from what it declares.

    400 needs input (a body or a parameter other than the path's), 404 a path parameter (or
    the view's own declaration), 413 and 415 a body; 401 any credentials it reads (a wrong
    or expired token is refused even where anonymous callers are welcome); 403 a session
    cookie on an unsafe method (the CSRF check); 406 and 429 every operation (content
    negotiation, throttles). Other statuses (409...) are the view's own ``responses``."""
    parameters = operation.get("parameters") or []
    has_body = "requestBody" in operation
    security = operation.get("security") or []
    schemes = {name for requirement in security for name in requirement}
    found = ["406", "429"]
    if has_body or any(p.get("in") != "path" for p in parameters):
        found.append("400")
    if schemes:
        found.append("401")
    if "cookieAuth" in schemes and method != "get":
        found.append("403")
    if any(p.get("in") == "path" for p in parameters):
        found.append("404")
    if has_body:
        found += ["413", "415"]
    return found


def add_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document the error format on each operation, with
    the error statuses it can answer, and the rate-limit headers on its successes and 429s
    (every API view is throttled)."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})[ERROR_SCHEMA_NAME] = _ERROR_COMPONENT
    rate_limit = _rate_limit_headers(components)
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_statuses(method, operation):
                existing = responses.get(code)
                if existing is None:
                    responses[code] = {
                        "description": _ERROR_DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    }
                    if code == "429":
                        responses[code]["headers"] = {
                            "Retry-After": {"schema": {"type": "integer"}, "required": True}
                        }
            for code, response in responses.items():
                if not str(code).startswith("2") and "content" not in response:
                    response["content"] = {"application/json": {"schema": ref}}
                if str(code).startswith("2") or str(code) == "429":
                    response.setdefault("headers", {}).update(rate_limit)
    return result
