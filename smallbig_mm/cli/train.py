"""Train a recognizer from a config: the arguments of MMAction2's ``tools/train.py``.

Beyond them: ``--log-level`` (the stack's known warning noise stays off the console
unless DEBUG), ``--progress``, config checks before the runner is built
(:mod:`smallbig_mm.mmaction.config_checks`), and ``--amp`` that also works without a GPU
(bfloat16). Known failures (config, annotations, checkpoints, non-finite losses) end
with ``error: ...`` and exit status 1 instead of a traceback. See docs/reliability.md.

Example:
    smallbig-train configs/recognition/smallbig/<config>.py --work-dir work_dirs/run1
"""

import argparse
from typing import Optional, Sequence

import smallbig_mm.mmaction  # noqa: F401  (stack fixes, registration)

from ..mmaction.cfg_options import merge_cfg_options
from ..mmaction.config_checks import ConfigError, ConfigProblem
from ..mmaction.engine.checkpoints import check_resume_file
from .common import (
    add_common_arguments,
    apply_console_options,
    run_config,
    set_local_rank,
    set_work_dir,
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a SmallBig (or any MMAction2) recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or with no value (or "auto") from the '
        'latest checkpoint in the work directory',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (AmpOptimWrapper): float16 with '
        'dynamic loss scaling on GPUs, bfloat16 on CPU-only machines',
    )
    parser.add_argument(
        '--no-validate', action='store_true', help='do not evaluate checkpoints during training'
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the real batch size '
        '(auto_scale_lr.base_batch_size in the config)',
    )
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed', action='store_true', help='a different seed on each rank'
    )
    parser.add_argument(
        '--deterministic', action='store_true', help='deterministic algorithms (slower)'
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    set_local_rank(args)
    return args


def merge_args(cfg, args: argparse.Namespace):
    """Applies the command-line options to the config (CLI wins over the file)."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ConfigError(
                [
                    ConfigProblem(
                        'optim_wrapper.type',
                        f'--amp needs OptimWrapper or AmpOptimWrapper, but the '
                        f'config uses {wrapper}',
                    )
                ]
            )
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ConfigError(
                [
                    ConfigProblem(
                        'auto_scale_lr',
                        '--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N) in the config',
                    )
                ]
            )
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness') is None:
        cfg.randomness = dict(
            seed=args.seed, diff_rank_seed=args.diff_rank_seed, deterministic=args.deterministic
        )
    merge_cfg_options(cfg, args.cfg_options)
    apply_console_options(cfg, args)
    check_resume_file(cfg)  # before the runner writes its log folder
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_config(
        parse_args(argv),
        merge_args,
        lambda cfg: ('train', 'val') if cfg.get('val_dataloader') else ('train',),
        lambda runner: runner.train(),
    )
