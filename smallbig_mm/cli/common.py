"""Argument handling shared by the train and test entry points."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    parser.add_argument('--work-dir', help='the directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. "train_dataloader.batch_size=4"; lists as '
        'key="[a,b]" or key=a,b; quote nested lists and tuples, e.g. key="[(a,b),(c,d)]"')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


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
