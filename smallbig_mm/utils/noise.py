"""Python warnings of the stack that tell a user nothing they can act on (stdlib only).

Kept off the console by every tool unless ``--log-level DEBUG``; the Python API hides
them only while it imports the stack (:func:`quiet_imports`), without changing the
process's warning filters. The warnings a tool still shows (a user can act on them:
``RandomWeightsWarning`` says to pass ``--checkpoint``) take one line each, without the
source line of the library that issued them.
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
    """Ignores :data:`NOISY_WARNINGS` from now on unless ``level`` is DEBUG (for tools), and
    prints the other warnings as one line each (:func:`one_line_warning`).

    Returns:
        True if they are now ignored.
    """
    if str(level).upper() == 'DEBUG':
        return False
    for category, message in NOISY_WARNINGS:
        warnings.filterwarnings('ignore', message=message, category=category)
    warnings.formatwarning = one_line_warning
    return True


def one_line_warning(
    message: object, category: type, filename: str, lineno: int, line: object = None
) -> str:
    """``warnings.formatwarning`` for tools: ``Category: message``, without the file and
    the source line (``--log-level DEBUG`` keeps Python's format).

    Example:
        >>> one_line_warning('no checkpoint given', UserWarning, 'x.py', 3).strip()
        'UserWarning: no checkpoint given'
    """
    return f'{category.__name__}: {message}\n'


@contextlib.contextmanager
def quiet_imports() -> Iterator[None]:
    """Ignores :data:`NOISY_WARNINGS` inside the block only (for the Python API)."""
    with warnings.catch_warnings():
        for category, message in NOISY_WARNINGS:
            warnings.filterwarnings('ignore', message=message, category=category)
        yield
