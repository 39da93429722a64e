"""The torch device a setting names (``ML_DEVICE``, ``--device``, a config's ``device``).

The one definition for both ``ml`` packages: ``recommender.ml`` (sequence models) and
``generator.ml`` (token language models) call it; it imports nothing but torch, so either may
import it without Django or a loop (``generator`` already depends on ``recommender``).
"""

from __future__ import annotations

import torch

__all__ = ["DEVICES", "DeviceUnavailable", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


class DeviceUnavailable(RuntimeError, ValueError):
    """CUDA was asked for but none is present.

    Both a ``RuntimeError`` (what the recommender's callers catch) and a ``ValueError`` (what the
    generator's commands catch), as each package raised before they shared this function.
    """


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device 'cuda' was asked for but no CUDA device is available")
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; expected auto, cpu or cuda")
    return torch.device(name)
