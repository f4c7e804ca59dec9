"""Run a callback on every MMLogger created from now on (the quiet console's filter).

Upstream: none; a behaviour this package adds. MMEngine builds each ``MMLogger``'s
console handler inside ``MMLogger.__init__`` and offers no hook to filter it, so the
console filter of :func:`smallbig_mm.mmaction.console.quiet_console` can only reach the
loggers created after it by wrapping ``__init__``. Unlike the stack fixes, this one is
not applied by ``import smallbig_mm.mmaction``: only the package's tools apply it (through
``quiet_console``), and at ``--log-level DEBUG`` not at all.
"""

from typing import Callable, List

from .wrapping import install, is_patched

ISSUE = 'none upstream; behaviour added: MMLogger has no hook for console filters'

_callbacks: List[Callable] = []


def is_applied() -> bool:
    """Whether ``MMLogger.__init__`` is this module's."""
    from mmengine.logging import MMLogger

    return is_patched(MMLogger, '__init__')


def apply(callback: Callable) -> bool:
    """Calls ``callback(logger)`` after every new ``MMLogger``; once per callback.

    Returns True if ``callback`` was added now.
    """
    from mmengine.logging import MMLogger

    if not is_applied():
        original = MMLogger.__init__

        def __init__(self, *args, **kwargs) -> None:
            original(self, *args, **kwargs)
            for registered in _callbacks:
                registered(self)

        install(MMLogger, '__init__', __init__)
    if callback in _callbacks:
        return False
    _callbacks.append(callback)
    return True
