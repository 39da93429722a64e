"""Opaque feed cursors: which build of the feed, where in it, and when the session began."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

CLOCK_SKEW_SECONDS = 86_400  # a cursor's session may begin at most this far past our clock


class InvalidCursor(ValueError):
    """The cursor is not one this server issued."""


@dataclass(frozen=True)
class FeedCursor:
    build: int
    offset: int
    since: int  # unix seconds when this browsing session's first page was served

    def encode(self) -> str:
        raw = f"{self.build}:{self.offset}:{self.since}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> FeedCursor:
        if not value or len(value) > 64:
            raise InvalidCursor("The cursor is malformed.")
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
            build, offset, since = (int(part) for part in raw.split(":"))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise InvalidCursor("The cursor is malformed.") from exc
        if min(build, offset, since) < 0 or offset > 100_000:
            raise InvalidCursor("The cursor is malformed.")
        if since > time.time() + CLOCK_SKEW_SECONDS:  # never issued, and maybe past year 9999
            raise InvalidCursor("The cursor is malformed.")
        return cls(build=build, offset=offset, since=since)
