"""Argument handling shared by the train and test entry points."""
import argparse
import contextlib
import logging
import os
import os.path as osp
import re
import sys
from typing import Callable, Iterator, Sequence, TypeVar

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..mmaction.config_checks import ConfigError, check_config
from ..data.annotations import AnnotationError
from ..mmaction.engine.non_finite import NonFiniteLossError
from ..mmaction.console import quiet_console
from ..weights import CheckpointError

T = TypeVar('T')
LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR')
USER_ERRORS = (ConfigError, AnnotationError, CheckpointError, NonFiniteLossError)
"""Errors whose message says all there is to say: printed without a traceback."""
LOST_PEER = re.compile(r'Connection (reset|closed) by peer|Broken pipe|NCCL communicator was '
                       r'aborted|Timed out waiting \d+ms|Socket Timeout')
"""Collective-communication failures that mean another process of the run is gone."""


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``,
    ``--log-level`` and ``--progress``."""
    parser.add_argument('--work-dir', help='the directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. "train_dataloader.batch_size=4"; lists as '
        'key="[a,b]" or key=a,b; quote nested lists and tuples, e.g. key="[(a,b),(c,d)]"')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--log-level', choices=LOG_LEVELS, default=None,
        help='console and log-file level (default: log_level of the config, INFO). '
        'Above DEBUG, the known warning noise of the stack is kept off the console '
        '(the log file keeps the environment, config and hook table); DEBUG shows all')
    parser.add_argument('--progress', choices=['auto', 'on', 'off'], default='auto',
                        help='a one-line progress bar (auto: when the console is a terminal)')


def setup_console(args: argparse.Namespace) -> bool:
    """Quiets the console before anything noisy is imported. Returns True if quiet."""
    return quiet_console(args.log_level or 'INFO')


def apply_console_options(cfg: Config, args: argparse.Namespace) -> None:
    """``--log-level`` into the config; the progress bar hook if asked for (or a tty)."""
    if args.log_level is not None:
        cfg.log_level = args.log_level
    show = args.progress == 'on' or args.progress == 'auto' and sys.stdout.isatty()
    hooks = list(cfg.get('custom_hooks') or [])
    if show and not any(h.get('type') == 'ProgressBarHook' for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='ProgressBarHook')]


@contextlib.contextmanager
def reported_errors(quiet: bool) -> Iterator[None]:
    """Turns the package's user-facing errors into ``error: ...`` and exit status 1.

    Also a collective that fails because another process of a distributed run died
    (``Connection reset by peer``...). The message goes to stderr and, once the runner
    has made one, to the log file. With ``quiet`` False (``--log-level DEBUG``) the
    errors keep their traceback.
    """
    try:
        yield
    except USER_ERRORS as err:
        if not quiet:
            raise
        _report(f'error: {err}')
    except RuntimeError as err:
        lost = LOST_PEER.search(str(err))
        if not quiet or lost is None or not _distributed():
            raise
        import torch.distributed as dist
        _report(f'error: rank {dist.get_rank()} lost contact with another process of this '
                f'distributed run ({lost.group(0)}): that process died, was killed or hung. '
                f"torchrun's summary (Root Cause) names it and its exit code; after fixing "
                f'the cause, continue with --resume.')


def _distributed() -> bool:
    import torch.distributed as dist
    return dist.is_available() and dist.is_initialized()


def _report(message: str) -> None:
    _write_to_log_files(message)
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(1) from None


def _write_to_log_files(message: str) -> None:
    """Appends ``message`` to the current MMLogger's log files (not its console)."""
    from mmengine.logging import MMLogger
    if not MMLogger._instance_dict:
        return
    logger = MMLogger.get_current_instance()
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, message, None, None)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def load_config(path: str) -> Config:
    """Loads a config file (which imports smallbig_mm through ``custom_imports``)."""
    if not osp.isfile(path):
        raise SystemExit(f'error: config file not found: {path}')
    return Config.fromfile(path)


def set_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    """``--work-dir`` > ``work_dir`` in the config > ``./work_dirs/<config name>``."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])


def set_local_rank(args: argparse.Namespace) -> None:
    """Exports LOCAL_RANK for launchers that pass it as an argument."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def build_runner(cfg: Config) -> Runner:
    """Builds the default runner, or ``runner_type`` from the registry."""
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)



def run_config(args: argparse.Namespace, merge: Callable[[Config, argparse.Namespace], Config],
               splits: Callable[[Config], Sequence[str]], action: Callable[[Runner], T]) -> T:
    """What ``smallbig-train`` and ``smallbig-test`` do, with user errors as one line.

    Quiets the console, loads ``args.config``, applies the options (``merge``), checks
    the config and the data of ``splits(cfg)``, builds the runner and runs ``action``.
    """
    with reported_errors(setup_console(args)):
        cfg = merge(load_config(args.config), args)
        check_config(cfg, splits(cfg))
        return action(build_runner(cfg))
