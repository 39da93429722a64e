"""The API's JSON parser: DRF's, refusing JSON nested deeper than any request needs.

A body nested 50,000 deep makes the standard library's decoder raise ``RecursionError``; one
nested a few hundred deep parses, then breaks whatever walks it (a serializer, the error
format, orjson's renderer stops at 255). Both are a 400 ``parse_error`` here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32  # the deepest request body (a listen batch) is 3


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` (parsed JSON) nests lists and objects deeper than ``limit``."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    """``rest_framework.parsers.JSONParser`` with a nesting limit (``MAX_JSON_DEPTH``)."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        message = f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels"
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(message)
        return data
