"""Installing and recognising the patches' wrappers: one way for every patch."""

import functools
from typing import Callable

MARKER = '__smallbig_patch__'


def is_patched(owner: object, name: str, marker: str = MARKER) -> bool:
    """Whether ``owner.name`` is a wrapper installed by :func:`install` with ``marker``.

    Example:
        >>> class A:
        ...     def f(self): return 1
        >>> is_patched(A, 'f')
        False
    """
    return getattr(getattr(owner, name, None), marker, False)


def install(owner: object, name: str, wrapper: Callable, marker: str = MARKER) -> None:
    """Replaces ``owner.name`` with ``wrapper``, marked, and with the original as ``__wrapped__``.

    Example:
        >>> class A:
        ...     def f(self): return 1
        >>> original = A.f
        >>> install(A, 'f', lambda self: original(self) + 1)
        >>> A().f(), is_patched(A, 'f'), A.f.__wrapped__ is original
        (2, True, True)
    """
    functools.update_wrapper(wrapper, getattr(owner, name))
    setattr(wrapper, marker, True)
    setattr(owner, name, wrapper)


def apply_once(
    defect_present: Callable[[], bool],
    is_applied: Callable[[], bool],
    install_fix: Callable[[], None],
) -> bool:
    """Runs ``install_fix`` if the defect is present and the fix not yet in place.

    Returns:
        True if the fix was installed now.
    """
    if not defect_present() or is_applied():
        return False
    install_fix()
    return True
