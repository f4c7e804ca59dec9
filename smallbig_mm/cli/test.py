"""Test a checkpoint with a config: the arguments of MMAction2's ``tools/test.py``.

Example:
    smallbig-test configs/recognition/smallbig/<config>.py work_dirs/run1/epoch_20.pth
"""

import argparse
import os.path as osp
from typing import Optional, Sequence

import smallbig_mm.mmaction  # noqa: F401  (stack fixes, registration)

from ..mmaction.cfg_options import merge_cfg_options
from ..mmaction.config_checks import ConfigError, ConfigProblem
from ..utils.errors import UsageError
from ..utils.files import check_output_path
from ..utils.progress import is_rank_zero
from ..utils.provenance import file_identity, make_provenance, text_digest
from .common import (
    add_common_arguments,
    apply_console_options,
    run_config,
    set_local_rank,
    set_work_dir,
)
from .numbers import float_range, int_range


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a SmallBig (or any MMAction2) recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--dump',
        type=str,
        help='also dump predictions to this .pkl file (a new file, unless --force)',
    )
    parser.add_argument('--force', action='store_true', help='let --dump replace an existing file')
    parser.add_argument(
        '--show-dir', help='write visualisations into this directory (under the work directory)'
    )
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument(
        '--interval', type=int_range(1), default=1, help='visualise every N samples'
    )
    parser.add_argument(
        '--wait-time', type=float_range(0), default=2, help='seconds per shown sample'
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    set_local_rank(args)
    return args


def merge_args(cfg, args: argparse.Namespace):
    """Applies the command-line options to the config (CLI wins over the file)."""
    if not osp.isfile(args.checkpoint):
        raise UsageError(f'checkpoint file not found: {args.checkpoint}')
    if args.show or args.show_dir is not None:
        if 'visualization' not in cfg.default_hooks:
            raise ConfigError(
                [
                    ConfigProblem(
                        'default_hooks.visualization',
                        '--show/--show-dir need '
                        'default_hooks.visualization=dict(type="VisualizationHook") in the config',
                    )
                ]
            )
        cfg.default_hooks.visualization.update(
            enable=True,
            show=args.show,
            wait_time=args.wait_time,
            out_dir=args.show_dir,
            interval=args.interval,
        )
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise UsageError(f'--dump must name a .pkl file, got {args.dump}')
        inputs = (args.checkpoint, args.config)
        check_output_path(args.dump, args.force, inputs)  # before anything is tested
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = evaluators + [
            dict(type='SafeDumpResults', out_file_path=args.dump, force=args.force, inputs=inputs)
        ]
    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)
    if args.dump is not None:
        cfg.test_evaluator[-1]['provenance'] = make_provenance(
            'smallbig-test',
            dict(
                checkpoint=file_identity(args.checkpoint, content=True),
                config=dict(path=osp.abspath(args.config), digest=text_digest(cfg.to_dict())),
            ),
            dict(cfg_options=args.cfg_options),
        )
    set_work_dir(cfg, args)
    apply_console_options(cfg, args)
    cfg.load_from = args.checkpoint
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> None:
    metrics = run_config(
        parse_args(argv), merge_args, lambda cfg: ('test',), lambda runner: runner.test()
    )
    if not is_rank_zero():
        return  # under torchrun every process has the metrics: rank 0 prints them once
    print(
        'test metrics: '
        + ', '.join(
            f'{name}={value:.4f}' if isinstance(value, float) else f'{name}={value}'
            for name, value in metrics.items()
        )
    )
