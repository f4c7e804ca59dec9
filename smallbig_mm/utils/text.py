"""Text for messages: one way to show a long list of names."""

from typing import Iterable


def preview(items: Iterable[str], limit: int = 8, sep: str = ', ', total: bool = True) -> str:
    """The first ``limit`` items, then ``... (N in all)`` if there are more.

    Args:
        items: names (checkpoint keys, paths...).
        limit: how many to show.
        sep: the separator between them.
        total: end with ``(N in all)`` when items are left out (False: ``...`` alone, for
            callers that state N themselves).

    Example:
        >>> preview(['a', 'b', 'c'], limit=2)
        'a, b, ... (3 in all)'
        >>> preview(['a', 'b'], limit=2)
        'a, b'
    """
    items = list(items)
    more = (
        (f'{sep}... ({len(items)} in all)' if total else f'{sep}...') if len(items) > limit else ''
    )
    return sep.join(items[:limit]) + more
