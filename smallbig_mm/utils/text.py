"""Text for messages: one way to show a long list of names, one way to show a size."""

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


def byte_size(count: int) -> str:
    """A byte count for people, in binary units.

    Example:
        >>> byte_size(512), byte_size(3 * 2**20), byte_size(150 * 2**30)
        ('512 B', '3.0 MiB', '150 GiB')
    """
    value, units = float(count), ('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB')
    for unit in units:
        if value < 1024 or unit == units[-1]:
            break
        value /= 1024
    if unit == 'B':
        return f'{count} B'
    return f'{value:.0f} {unit}' if value >= 100 else f'{value:.1f} {unit}'
