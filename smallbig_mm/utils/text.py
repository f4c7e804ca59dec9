"""Text for messages: one way to show a long list of names."""
from typing import Iterable


def preview(items: Iterable[str], limit: int = 8, sep: str = ', ') -> str:
    """The first ``limit`` items, then ``... (N in all)`` if there are more.

    Args:
        items: names (checkpoint keys, paths...).
        limit: how many to show.
        sep: the separator between them.

    Example:
        >>> preview(['a', 'b', 'c'], limit=2)
        'a, b, ... (3 in all)'
        >>> preview(['a', 'b'], limit=2)
        'a, b'
    """
    items = list(items)
    more = f'{sep}... ({len(items)} in all)' if len(items) > limit else ''
    return sep.join(items[:limit]) + more
