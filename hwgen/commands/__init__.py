"""CLI sub-commands, one module per group; each module has `register(subparsers)`."""

from __future__ import annotations

import argparse
import math
from typing import Callable


def bounded(kind: type[int] | type[float], low: float, high: float, example: str) -> Callable[[str], int | float]:
    """An argparse `type` that reads a finite number from `low` (exclusive for floats) to `high` and refuses
    anything else (nan, inf, negative, huge) with a message that says what to write."""
    interval = f"more than {low:g}" if kind is float else f"at least {low:g}"

    def read(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value > low if kind is float else value >= low) and value <= high):
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number "
                                             f"{interval} and at most {high:g}; write e.g. {example}")
        return value

    return read
