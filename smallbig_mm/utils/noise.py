"""Python warnings of the stack that tell a user nothing they can act on (stdlib only).

Kept off the console by every tool unless ``--log-level DEBUG``; the Python API hides
them only while it imports the stack (:func:`quiet_imports`), without changing the
process's warning filters.
"""

import contextlib
import warnings
from typing import Iterator, Tuple

NOISY_WARNINGS: Tuple[Tuple[type, str], ...] = (
    (UserWarning, r'Fail to import ``MultiScaleDeformableAttention``'),
    (Warning, r'pkg_resources is deprecated'),
    (FutureWarning, r'`broadcast_buffers` is deprecated'),
    (UserWarning, r'Setting (MKL|OMP)_NUM_THREADS environment variable'),
    (UserWarning, r'Grad strides do not match bucket view strides'),
    (Warning, r'torch\.cuda\.amp\.(GradScaler|autocast)\(args\.\.\.\)` is deprecated'),
)
"""(category, message regex) of Python warnings that carry no information for a run."""


def ignore_noisy_warnings(level: str = 'INFO') -> bool:
    """Ignores :data:`NOISY_WARNINGS` from now on unless ``level`` is DEBUG (for tools).

    Returns:
        True if they are now ignored.
    """
    if str(level).upper() == 'DEBUG':
        return False
    for category, message in NOISY_WARNINGS:
        warnings.filterwarnings('ignore', message=message, category=category)
    return True


@contextlib.contextmanager
def quiet_imports() -> Iterator[None]:
    """Ignores :data:`NOISY_WARNINGS` inside the block only (for the Python API)."""
    with warnings.catch_warnings():
        for category, message in NOISY_WARNINGS:
            warnings.filterwarnings('ignore', message=message, category=category)
        yield
