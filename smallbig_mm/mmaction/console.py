"""A console a person can read: the stack's known noise moved out of sight, and a progress bar.

A plain MMAction2 training run prints ~300 lines before its first iteration (system
environment, the whole config, the hook table) plus warnings that say nothing about
the run: mmcv-lite's missing ``MultiScaleDeformableAttention``, pkg_resources and
FileClient deprecations, DDP's ``broadcast_buffers`` FutureWarning, MMEngine's
MKL/OMP thread notes, and (without a log file) one line per parameter of the
initialisation log. :func:`quiet_console`, called by the package's tools:

- filters those MMLogger records from the console only (the environment dump becomes
  a one-line summary): the log file in the work directory still has the environment,
  the config and the hook table. Loggers created later get the filter through
  :mod:`.patches.new_logger_callback`, applied here and nowhere else;
- ignores those Python warnings;
- silences FFmpeg's messages inside OpenCV (bad videos are reported by
  :class:`~smallbig_mm.mmaction.datasets.robust_video.RobustVideoDataset`, with their names).

At ``DEBUG`` (``--log-level DEBUG``) nothing is filtered. The console filter clears the
progress bar (:class:`smallbig_mm.utils.progress.Progress`, drawn by
:class:`~smallbig_mm.mmaction.engine.progress.ProgressBarHook`) before a log line is
printed, so the two never mix.
"""

import logging
import os
import re
from typing import Optional, Union

from ..utils.noise import NOISY_WARNINGS, ignore_noisy_warnings  # noqa: E402,F401
from ..utils.progress import Progress

NOISY_RECORDS = re.compile(
    r'^(\n-{60}\nSystem environment:'  # Runner: environment dump
    r'|Config:\n'  # Runner: the whole config
    r'|Hooks will be executed in the following order'
    r'|"FileClient" will be deprecated'
    r'|"HardDiskBackend" is the alias'
    r'|\n\S+ - torch\.Size\(\[)',  # BaseModule: one init record per parameter
    re.S,
)
"""MMLogger messages kept off the console (they stay in the log file)."""


ENVIRONMENT_DUMP = re.compile(r'^\n-{60}\nSystem environment:')
SUMMARY_FIELDS = re.compile(
    r'^\s*(PyTorch|CUDA available|seed|Distributed training|'
    r'GPU number): (.*)$',
    re.M,
)


def environment_summary(dump: str) -> str:
    """One line with the key facts of MMEngine's environment dump.

    Example:
        >>> dump = '\\n' + '-' * 60 + '\\nSystem environment:\\n    PyTorch: 2.1\\n    seed: 0\\n'
        >>> environment_summary(dump)
        'environment: PyTorch: 2.1, seed: 0 (all of it in the log file)'
    """
    fields = ', '.join(f'{key}: {value.strip()}' for key, value in SUMMARY_FIELDS.findall(dump))
    return f'environment: {fields} (all of it in the log file)'


class QuietConsoleFilter(logging.Filter):
    """Drops the known noisy records from a console handler; clears the progress bar.

    MMEngine's environment dump becomes one summary line (PyTorch, CUDA, seed,
    distributed or not).

    Args:
        handler: the console handler this filter is attached to (for the summary).
    """

    def __init__(self, handler: Optional[logging.Handler] = None) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if NOISY_RECORDS.match(message):
            if self.handler is not None and ENVIRONMENT_DUMP.match(message):
                self.handler.handle(
                    logging.makeLogRecord(
                        dict(record.__dict__, msg=environment_summary(message), args=None)
                    )
                )
            return False
        if Progress.active is not None:
            Progress.active.clear()
        return True


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and not isinstance(
        handler, logging.FileHandler
    )


def _add_filter(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if _is_console(handler) and not any(
            isinstance(f, QuietConsoleFilter) for f in handler.filters
        ):
            handler.addFilter(QuietConsoleFilter(handler))


def quiet_console(level: Union[int, str] = 'INFO') -> bool:
    """Keeps the stack's known noise off the console unless ``level`` is DEBUG.

    Args:
        level: the run's log level (``'DEBUG'``, ``'INFO'``, ...).

    Returns:
        True if the noise is now filtered (any level above DEBUG).

    Example:
        >>> quiet_console('DEBUG')
        False
    """
    level = logging.getLevelName(level) if isinstance(level, str) else level
    if not isinstance(level, int):
        raise ValueError(f'unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR')
    if level <= logging.DEBUG:
        return False
    ignore_noisy_warnings()
    os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')  # FFmpeg's AV_LOG_QUIET
    from ..compat.mmengine import logger_instances
    from .patches import new_logger_callback

    new_logger_callback.apply(_add_filter)  # loggers created from now on
    for instance in list(logger_instances().values()):
        _add_filter(instance)
    return True
