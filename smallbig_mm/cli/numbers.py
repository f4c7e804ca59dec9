"""argparse types for numeric flags with a range, checked when parsed (stdlib only).

A value outside the range is a usage error (exit 2) naming the flag, before any work, so
a hostile size never reaches an allocation.

Example:
    >>> int_range(1, 64)('8')
    8
    >>> int_range(1, 64)('0')
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an int in 1..64, got 0
"""

import argparse
from typing import Callable, Optional


def int_range(low: int, high: Optional[int] = None) -> Callable[[str], int]:
    """An argparse ``type``: an int in ``low..high`` (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected an int, got {text!r}') from None
        if value < low or high is not None and value > high:
            bounds = f'{low}..{high}' if high is not None else f'at least {low}'
            raise argparse.ArgumentTypeError(
                f'must be an int in {bounds}, got {value}'
                if high is not None
                else f'must be an int of {bounds}, got {value}'
            )
        return value

    parse.__name__ = 'int'
    return parse


def float_range(low: float, high: Optional[float] = None) -> Callable[[str], float]:
    """An argparse ``type``: a finite float in ``low..high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected a number, got {text!r}') from None
        if not value >= low or high is not None and not value <= high:
            raise argparse.ArgumentTypeError(
                f'must be a number in {low}..{high if high is not None else "inf"}, got {text}'
            )
        return value

    parse.__name__ = 'float'
    return parse
