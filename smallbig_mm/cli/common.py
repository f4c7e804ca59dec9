"""Argument handling shared by the train and test entry points."""

import argparse
import os
import os.path as osp
import sys
from typing import Callable, Sequence, TypeVar

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..mmaction.cfg_options import add_cfg_options_argument
from ..mmaction.config_checks import check_config
from ..mmaction.config_scope import read_config
from ..mmaction.console import quiet_console
from ..utils.errors import UsageError, UserError
from ..utils.files import check_folder_writable
from .errors import LOG_LEVELS, reported_errors  # noqa: F401  (the one error reporter)
from .process_group import leave_process_group

T = TypeVar('T')


class ConfigFileError(UserError, ValueError):
    """A config file that cannot be read as a config (syntax error, bad base)."""


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``,
    ``--log-level`` and ``--progress``."""
    parser.add_argument(
        '--work-dir',
        help='the directory for logs and checkpoints (default: ./work_dirs/<config name>)',
    )
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--log-level',
        choices=LOG_LEVELS,
        default=None,
        help='console and log-file level (default: log_level of the config, INFO). '
        'Above DEBUG, the known warning noise of the stack is kept off the console '
        '(the log file keeps the environment, config and hook table); DEBUG shows all',
    )
    parser.add_argument(
        '--progress',
        choices=['auto', 'on', 'off'],
        default='auto',
        help='a one-line progress bar (auto: when the console is a terminal)',
    )


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


def load_config(path: str) -> Config:
    """Loads a config file (which imports smallbig_mm through ``custom_imports``).

    Raises:
        UsageError: the file does not exist.
        ConfigFileError: it is not a valid config (syntax error), naming file and line.
    """
    if not osp.isfile(path):
        raise UsageError(
            f'config file not found: {path} (give the path of a config .py '
            f'file, e.g. one under configs/recognition/smallbig/)'
        )
    try:
        return read_config(path)  # knows _base_ = ['smallbig_mm::...']
    except SyntaxError as err:
        name = err.filename if err.filename and not err.filename.startswith('<') else path
        raise ConfigFileError(
            f'{name}, line {err.lineno}: invalid Python in the config: {err.msg}'
        ) from err
    except Exception as err:  # noqa: BLE001  (only errors raised by the config's own code)
        where = config_frame(err)
        if where is None:
            raise
        raise ConfigFileError(
            f'{where[0]}, line {where[1]}: the config fails to evaluate: '
            f'{type(err).__name__}: {err}'
        ) from err


def config_frame(err: BaseException):
    """``(file, line)`` of the deepest traceback frame in a config file (a ``.py`` outside
    the installed packages and this package), or None: the error is not the config's."""
    import site
    import traceback

    import smallbig_mm

    libraries = (
        [osp.dirname(osp.abspath(smallbig_mm.__file__))]
        + site.getsitepackages()
        + [osp.dirname(osp.abspath(os.__file__))]
    )
    frames = [
        f
        for f in traceback.extract_tb(err.__traceback__)
        if f.filename.endswith('.py')
        and not any(osp.abspath(f.filename).startswith(lib) for lib in libraries)
    ]
    return (frames[-1].filename, frames[-1].lineno) if frames else None


def set_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    """``--work-dir`` > ``work_dir`` in the config > ``./work_dirs/<config name>``."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    what = '--work-dir' if args.work_dir is not None else 'the work directory'
    check_folder_writable(cfg.work_dir, what)  # now, not after the checks and the runner


def set_local_rank(args: argparse.Namespace) -> None:
    """Exports LOCAL_RANK for launchers that pass it as an argument."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def build_runner(cfg: Config) -> Runner:
    """Builds the default runner, or ``runner_type`` from the registry."""
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def run_config(
    args: argparse.Namespace,
    merge_args: Callable[[Config, argparse.Namespace], Config],
    splits: Callable[[Config], Sequence[str]],
    action: Callable[[Runner], T],
) -> T:
    """What ``smallbig-train`` and ``smallbig-test`` do, with user errors as one line.

    Loads the config, merges the command line into it, checks the config and the
    annotation lists of ``splits(cfg)``, builds the runner and returns ``action(runner)``.
    """
    with reported_errors(setup_console(args)):
        cfg = merge_args(load_config(args.config), args)
        check_config(cfg, splits(cfg))
        result = action(build_runner(cfg))
    leave_process_group()
    return result
