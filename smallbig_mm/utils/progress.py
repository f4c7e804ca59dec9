"""Progress for people and for log files, from one process of a run.

On a terminal a ``tqdm`` bar (redrawn in place); when the output is a file or a pipe,
plain lines (``videos: 3/10``) at most every :data:`PLAIN_INTERVAL` seconds and at the
end, never ``\\r``. Only rank 0 of a distributed run (``RANK``) shows progress. Without
tqdm installed, terminals get the plain lines too.

Example:
    >>> import io
    >>> stream = io.StringIO()
    >>> for _ in progress(range(3), 'videos', stream=stream):
    ...     pass
    >>> stream.getvalue()
    'videos: 3/3\\n'
"""

import os
import sys
import time
from typing import Iterable, Iterator, Optional, Sequence, TextIO, TypeVar

T = TypeVar('T')
PLAIN_INTERVAL = 30.0
"""Seconds between plain progress lines in a log file."""


def is_rank_zero() -> bool:
    """Whether this process is rank 0 of its run (or not distributed)."""
    rank = os.environ.get('RANK', '0')
    return not rank.isdigit() or int(rank) == 0


class Progress:
    """One progress display: a tqdm bar on a terminal, plain lines elsewhere.

    Args:
        label: what is counted, e.g. ``'train 2/100'``.
        total: the count at the end.
        stream: where to write (default ``sys.stderr``).
        enabled: False shows nothing (also on ranks other than 0).
    """

    active: Optional['Progress'] = None
    """The bar on screen, cleared by the console filter before a log line."""

    def __init__(
        self, label: str, total: int, stream: Optional[TextIO] = None, enabled: bool = True
    ) -> None:
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and is_rank_zero()
        self.bar = None
        self.last = time.monotonic()
        self.done = 0
        if self.enabled and getattr(self.stream, 'isatty', lambda: False)():
            try:
                from tqdm import tqdm

                self.bar = tqdm(
                    total=total, desc=label, file=self.stream, leave=True, dynamic_ncols=True
                )
            except ImportError:
                pass

    def update(self, done: int, suffix: str = '') -> None:
        """Shows ``done`` of ``total`` (and ``suffix``, e.g. the loss)."""
        self.done = done
        if self.bar is not None:
            self.bar.n = done
            self.bar.set_postfix_str(suffix, refresh=False)
            self.bar.refresh()
            Progress.active = self
        elif self.enabled and (
            done >= self.total or time.monotonic() - self.last >= PLAIN_INTERVAL
        ):
            self.stream.write(
                f'{self.label}: {done}/{self.total}' + (f' {suffix}' if suffix else '') + '\n'
            )
            self.stream.flush()
            self.last = time.monotonic()

    def clear(self) -> None:
        """Erases a terminal bar (the next update draws it again)."""
        if self.bar is not None:
            self.bar.clear()

    def close(self) -> None:
        """Leaves the final state (a terminal bar on its own line)."""
        if self.bar is not None:
            self.bar.close()
        if Progress.active is self:
            Progress.active = None


def progress(
    items: Iterable[T], label: str, enabled: bool = True, stream: Optional[TextIO] = None
) -> Iterator[T]:
    """Yields ``items`` while showing how many are done (see :class:`Progress`)."""
    items = items if isinstance(items, Sequence) else list(items)
    display = Progress(label, len(items), stream, enabled)
    try:
        for done, item in enumerate(items, start=1):
            yield item
            display.update(done)
    finally:
        display.close()
