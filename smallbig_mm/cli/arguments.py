"""argparse value types shared by the command-line tools (standard library only)."""

import argparse
import ast
import json
from typing import Any, Tuple


def positive(text: str) -> int:
    """argparse ``type`` for counts: an int of at least 1 (a usage error otherwise).

    Example:
        >>> positive('3')
        3
    """
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def key_value(text: str) -> Tuple[str, Any]:
    """argparse ``type`` for ``KEY=VALUE``: the value read as JSON or a Python literal if it is
    one (``8``, ``[3, 3, 3]``, ``null``, ``None``, ``(1, 3, 3)``), else kept as a string.

    Collect them with ``action='append'`` (or ``nargs='+'``) and pass the list to ``dict``.

    Example:
        >>> key_value('base_channels=8'), key_value('norm=bn'), key_value('k=[null, 3]')
        (('base_channels', 8), ('norm', 'bn'), ('k', [None, 3]))
    """
    key, sep, value = text.partition('=')
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f'expected KEY=VALUE, got {text!r}')
    for parse in (json.loads, ast.literal_eval):
        try:
            return key, parse(value)
        except (ValueError, SyntaxError):
            continue
    return key, value
