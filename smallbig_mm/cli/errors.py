"""The one place where the command-line tools turn user errors into ``error: ...`` lines.

A user error is an exception whose message says all there is to say:

- any :class:`~smallbig_mm.utils.errors.UserError` (``CheckpointError``, ``ConfigError``,
  ``AnnotationError``, ``OutputExistsError``, ``BadVideoError``, ``NonFiniteLossError``,
  ...): printed as is;
- an ``OSError`` that names a path (``PermissionError``, ``FileNotFoundError``, a full
  disk...): printed as ``<path>: <reason>``, with a hint for the common reasons;
- in a distributed run, a collective that failed because another process died.

Each becomes one ``error: <message>`` on stderr (and in the run's log file, if one is
open) and exit status 1, or 2 for :class:`~smallbig_mm.utils.errors.UsageError`. With
``--log-level DEBUG`` the traceback is shown as well. Anything else is a bug of this
package or of the stack and keeps its traceback.

This module needs only the standard library (and torch for distributed runs), so the
torch-only tools (``smallbig-convert``, ``smallbig-generate-motion``,
``smallbig-benchmark``) use it without MMEngine installed.

Example:
    >>> from smallbig_mm.utils.errors import UsageError
    >>> try:
    ...     with reported_errors(quiet=True):
    ...         raise UsageError('config file not found: x.py')
    ... except SystemExit as done:
    ...     done.code
    2
"""

import argparse
import contextlib
import errno
import logging
import re
import sys
import traceback
from typing import Callable, Iterator, List, Optional

from ..utils.errors import UserError

LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR')
USER_ERRORS = (UserError, OSError)
"""Exception types that can be user errors; see :func:`user_error_message`."""
LOST_PEER = re.compile(
    r'Connection (reset|closed) by peer|Broken pipe|NCCL communicator was '
    r'aborted|Timed out waiting \d+ms|Socket Timeout'
)
"""Collective-communication failures that mean another process of the run is gone."""
OS_HINTS = {
    errno.EACCES: 'check its permissions, or choose a path you can write',
    errno.EPERM: 'check its permissions, or choose a path you can write',
    errno.ENOENT: 'check the path',
    errno.ENOTDIR: 'a part of the path is a file, not a folder',
    errno.EISDIR: 'it is a folder; give a file',
    errno.ENOSPC: 'the disk is full; free some space or choose another disk',
    errno.EROFS: 'the file system is read-only; choose another path',
    errno.EDQUOT: 'the disk quota is exhausted; free some space',
}


def add_log_level_argument(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` for tools without a log file: DEBUG shows tracebacks of user errors."""
    parser.add_argument(
        '--log-level',
        choices=LOG_LEVELS,
        default='INFO',
        help='DEBUG also prints the traceback of an error (default: INFO)',
    )


def user_error_message(err: BaseException) -> Optional[str]:
    """The one-line message for a user error, or None if ``err`` is not one.

    Example:
        >>> user_error_message(PermissionError(13, 'Permission denied', '/data/out.pth'))
        '/data/out.pth: Permission denied (check its permissions, or choose a path you can write)'
        >>> user_error_message(KeyError('a bug')) is None
        True
    """
    if isinstance(err, UserError):
        return str(err)
    if isinstance(err, OSError) and err.filename is not None:
        hint = OS_HINTS.get(err.errno)
        target = f'{err.filename} -> {err.filename2}' if err.filename2 else f'{err.filename}'
        return f'{target}: {err.strerror}' + (f' ({hint})' if hint else '')
    return None


@contextlib.contextmanager
def reported_errors(quiet: bool = True) -> Iterator[None]:
    """Turns user errors into ``error: ...`` on stderr and exit status 1 (2 for usage).

    Args:
        quiet: False (``--log-level DEBUG``) prints the traceback before the line.
    """
    try:
        yield
    except USER_ERRORS as err:
        message = user_error_message(err)
        if message is None:
            raise
        if not quiet:
            traceback.print_exc()
        report(f'error: {message}', getattr(err, 'exit_status', 1))
    except RuntimeError as err:
        lost = LOST_PEER.search(str(err))
        if lost is None or not _distributed():
            raise
        if not quiet:
            traceback.print_exc()
        import torch.distributed as dist

        report(
            f'error: rank {dist.get_rank()} lost contact with another process of this '
            f'distributed run ({lost.group(0)}): that process died, was killed or hung. '
            f"torchrun's summary (Root Cause) names it and its exit code; after fixing "
            f'the cause, continue with --resume.',
            1,
        )


def report(message: str, status: int = 1) -> None:
    """Prints ``message`` on stderr (and into the open log files) and exits with ``status``."""
    _write_to_log_files(message)
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(status) from None


def _distributed() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def _write_to_log_files(message: str) -> None:
    """Appends ``message`` to the current MMLogger's log files (not its console), if any."""
    if 'mmengine.logging' not in sys.modules:
        return
    from mmengine.logging import MMLogger

    from ..compat.mmengine import logger_instances

    if not logger_instances():
        return
    logger = MMLogger.get_current_instance()
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, message, None, None)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def exit_status(body: Callable[[], Optional[int]], quiet: bool = True) -> int:
    """Runs ``body`` under :func:`reported_errors`; returns its status (0 for None) or the error's.

    For ``main(argv) -> int`` functions of tools whose callers (and tests) want the status
    returned rather than ``SystemExit`` raised.

    Example:
        >>> exit_status(lambda: None)
        0
    """
    try:
        with reported_errors(quiet):
            return body() or 0
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1


def tool_main(
    run: Callable[[argparse.Namespace], Optional[int]],
    parse_args: Callable[[Optional[List[str]]], argparse.Namespace],
    argv: Optional[List[str]] = None,
) -> int:
    """``main`` of a tool that returns its status: parses ``argv`` and runs ``run(args)``
    under :func:`exit_status` (``--log-level DEBUG`` shows tracebacks).

    Example:
        >>> tool_main(lambda args: None, lambda argv: argparse.Namespace(log_level='INFO'))
        0
    """
    args = parse_args(argv)
    return exit_status(lambda: run(args), quiet=args.log_level != 'DEBUG')
