"""How long a refused request must wait, said once: in the message and in ``Retry-After``."""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Wait", "wait_of"]


class Wait(NamedTuple):
    seconds: int  # for Retry-After: exactly the minutes the text states
    text: str  # "46 minutes", "1 minute"


def wait_of(seconds: float) -> Wait:
    """``seconds`` rounded up to whole minutes (at least one), as words and as seconds."""
    minutes = max(1, math.ceil(seconds / 60))
    return Wait(minutes * 60, f"{minutes} minute{'s' if minutes != 1 else ''}")
