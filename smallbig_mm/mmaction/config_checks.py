"""Config mistakes found before training starts, with the key and the accepted values.

MMAction2 1.2.0 takes these configs and fails late and vaguely: a head whose
``in_channels`` differs from the backbone's output fails at the first forward
("mat1 and mat2 shapes cannot be multiplied"); labels at or above ``num_classes`` fail
inside the loss ("Target 7 is out of bounds"); a missing video fails whenever it is
first drawn. :func:`check_config` finds them from the config alone:

- ``model.backbone``: its arguments (built on the ``meta`` device: no memory, no
  weights), e.g. ``frozen_stages`` above the number of stages, and its size: more
  float32 parameters than the machine's memory holds (``base_channels=100000``);
- ``batch_size`` (>= 1) and ``num_workers`` (>= 0) of each dataloader checked;
- ``model.cls_head.in_channels`` against the backbone's output channels;
- ``num_classes`` of a dataset against ``model.cls_head.num_classes``;
- every annotation line of the ``VideoDataset`` / ``RobustVideoDataset`` lists:
  missing videos, labels outside ``model.cls_head.num_classes`` (``file, line N``);
- ``optim_wrapper.dtype`` of an ``AmpOptimWrapper`` on a machine without a GPU;
- ``visualizer.vis_backends`` whose package is not installed (TensorBoard, W&B, ...):
  MMEngine would fail with a traceback at the first logged value.

The command-line tools call it before building the runner; :class:`ConfigCheckHook`
(in ``default_runtime.py``) runs it at ``before_run`` for other tools, e.g. MMAction2's.
"""

import importlib.util
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config, ConfigDict
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope

from ..compat.mmengine import runner_train_loop
from ..data.annotations import check_video_annotations
from ..utils.errors import UserError
from .patches.cpu_amp import cpu_autocast_dtype, has_accelerator

VIDEO_DATASETS = ('VideoDataset', 'RobustVideoDataset')
VIS_BACKEND_PACKAGES = {
    'TensorboardVisBackend': ('tensorboard', 'tensorboard'),
    'WandbVisBackend': ('wandb', 'wandb'),
    'MLflowVisBackend': ('mlflow', 'mlflow'),
    'ClearMLVisBackend': ('clearml', 'clearml'),
    'NeptuneVisBackend': ('neptune', 'neptune'),
    'DVCLiveVisBackend': ('dvclive', 'dvclive'),
    'AimVisBackend': ('aim', 'aim'),
}
"""MMEngine's experiment-tracking backends: (module it imports, pip package)."""
WRAPPER_KEYS = ('dataset', 'datasets')
"""Keys of dataset wrappers (RepeatDataset, ConcatDataset, ...) that hold datasets."""


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake: the config key and what is wrong with it."""

    key: str
    message: str

    def __str__(self) -> str:
        return f'{self.key}: {self.message}'


class ConfigError(UserError, ValueError):
    """The config has mistakes that would make training fail or mislead.

    Attributes:
        problems: every mistake found.
    """

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        listed = '\n  '.join(str(p) for p in self.problems[:30])
        more = f'\n  ... and {len(self.problems) - 30} more' if len(self.problems) > 30 else ''
        super().__init__(f'{len(self.problems)} config problem(s):\n  {listed}{more}')


def _build_backbone(cfg: Config) -> torch.nn.Module:
    """The backbone of ``cfg.model`` on the meta device (shapes only, nothing allocated)."""
    from mmaction.registry import MODELS

    init_default_scope(cfg.get('default_scope', 'mmaction'))
    backbone_cfg = ConfigDict(cfg.model.backbone)
    backbone_cfg.pop('pretrained', None)  # nothing is loaded on meta; a path may be remote
    backbone_cfg.pop('init_cfg', None)
    with torch.device('meta'):
        return MODELS.build(backbone_cfg)


def _backbone_out_channels(backbone: torch.nn.Module) -> Optional[int]:
    """Channels of the map the backbone returns, if it says (SmallBig, ResNet3d, timm)."""
    indices = getattr(backbone, 'out_indices', None)
    stages = getattr(backbone, 'stage_channels', None)
    if stages is not None and indices is not None:
        if getattr(backbone, 'return_tuple', False):
            return None  # a tuple of maps: only a neck can feed a head
        return stages[indices[0] if isinstance(indices, (tuple, list)) else indices]
    for name in ('feat_dim', 'num_features'):
        if isinstance(getattr(backbone, name, None), int):
            return getattr(backbone, name)
    return None


def check_model(cfg: Config) -> List[ConfigProblem]:
    """Backbone arguments and the head's ``in_channels``."""
    model = cfg.get('model') or {}
    if 'backbone' not in model:
        return []
    backbone_type = model.backbone.get('type', '?')
    try:
        backbone = _build_backbone(cfg)
    except (ValueError, TypeError, AssertionError, KeyError) as err:
        return [ConfigProblem(f'model.backbone (type={backbone_type})', str(err))]
    except RuntimeError as err:  # torch refusing a size even on the meta device
        if 'size' not in str(err).lower():
            raise
        return [ConfigProblem(f'model.backbone (type={backbone_type})', str(err))]
    parameters = sum(p.numel() for p in backbone.parameters())
    if parameters * 4 > _memory_bytes():
        return [
            ConfigProblem(
                f'model.backbone (type={backbone_type})',
                f'{parameters:,} parameters would need {parameters * 4 / 2**30:,.0f} GiB in '
                f'float32, more than this machine has ({_memory_bytes() / 2**30:,.0f} GiB); '
                'check base_channels and the other sizes',
            )
        ]
    head = model.get('cls_head') or {}
    if 'in_channels' not in head or model.get('neck') is not None:
        return []
    channels = _backbone_out_channels(backbone)
    if channels is None or channels == head.in_channels:
        return []
    how = ''
    if backbone_type == 'SmallBigResNet':
        base = model.backbone.get('base_channels', 64)
        how = f' (SmallBigResNet with base_channels={base}: res5 gives 32 x {base})'
    return [
        ConfigProblem(
            'model.cls_head.in_channels',
            f'{head.in_channels} does not match the {channels} channels the backbone '
            f'returns{how}; set model.cls_head.in_channels={channels}',
        )
    ]


def _memory_bytes() -> int:
    """The machine's physical memory (bytes); 2**62 where it cannot be read."""
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (AttributeError, ValueError, OSError):
        return 2**62


def check_loader_sizes(cfg: Config, splits: Sequence[str]) -> List[ConfigProblem]:
    """``batch_size`` (an int >= 1) and ``num_workers`` (an int >= 0) of each dataloader.

    Example:
        >>> check_loader_sizes(Config(dict(train_dataloader=dict(batch_size=0))), ['train'])
        [ConfigProblem(key='train_dataloader.batch_size', message='must be an int of at least 1, got 0')]
    """
    problems = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader') or {}
        for name, least in (('batch_size', 1), ('num_workers', 0)):
            value = loader.get(name, least)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                problems.append(
                    ConfigProblem(
                        f'{split}_dataloader.{name}',
                        f'must be an int of at least {least}, got {value!r}',
                    )
                )
    return problems


def _video_datasets(dataset_cfg: dict, key: str):
    """(key, cfg) of each VideoDataset-like dataset, looking inside dataset wrappers."""
    if not isinstance(dataset_cfg, dict):
        return
    if dataset_cfg.get('type') in VIDEO_DATASETS:
        yield key, dataset_cfg
    for inner in WRAPPER_KEYS:
        value = dataset_cfg.get(inner)
        if isinstance(value, dict):
            yield from _video_datasets(value, f'{key}.{inner}')
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                yield from _video_datasets(item, f'{key}.{inner}.{i}')


def _hook_option(cfg: Config, name: str, default):
    """An argument of the ConfigCheckHook entry of ``cfg.custom_hooks``, if there is one."""
    for hook in cfg.get('custom_hooks') or []:
        if hook.get('type') in ('ConfigCheckHook', ConfigCheckHook):
            return hook.get(name, default)
    return default


def check_data(
    cfg: Config, splits: Sequence[str] = ('train', 'val'), check_files: Optional[bool] = None
) -> List[ConfigProblem]:
    """Datasets' ``num_classes`` and annotation lines against the head's ``num_classes``.

    ``check_files`` (one ``stat`` per listed video; None: the ``check_files`` argument of
    the config's ``ConfigCheckHook``, default True) can be turned off for huge lists on
    slow file systems; a dataset's own ``check_files`` (RobustVideoDataset) also counts.
    """
    if check_files is None:
        check_files = _hook_option(cfg, 'check_files', True)
    head = (cfg.get('model') or {}).get('cls_head') or {}
    num_classes = head.get('num_classes')
    problems = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for key, dataset in _video_datasets(loader.get('dataset'), f'{split}_dataloader.dataset'):
            data_classes = dataset.get('num_classes')
            if None not in (data_classes, num_classes) and data_classes != num_classes:
                problems.append(
                    ConfigProblem(
                        f'{key}.num_classes',
                        f'{data_classes} differs from model.cls_head.num_classes={num_classes}; '
                        f'use the same number of classes in both',
                    )
                )
            ann_file = dataset.get('ann_file')
            if not ann_file:
                continue
            prefix = (dataset.get('data_prefix') or {}).get('video')
            for problem in check_video_annotations(
                ann_file,
                prefix,
                num_classes,
                dataset.get('delimiter', ' '),
                dataset.get('multi_class', False),
                check_files and dataset.get('check_files', True),
                num_classes_key='model.cls_head.num_classes',
            ):
                problems.append(ConfigProblem(f'{key}.ann_file', str(problem)))
    return problems


def check_optim_wrapper(cfg: Config) -> List[ConfigProblem]:
    """An ``AmpOptimWrapper`` dtype that cannot run on this machine."""
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper.get('type') != 'AmpOptimWrapper':
        return []
    if has_accelerator():
        return []
    try:
        cpu_autocast_dtype(wrapper.get('dtype'))
    except ValueError as err:
        return [ConfigProblem('optim_wrapper.dtype', str(err))]
    return []


def check_vis_backends(cfg: Config) -> List[ConfigProblem]:
    """Backends of ``visualizer.vis_backends`` whose package is not installed.

    Example:
        >>> cfg = Config(dict(visualizer=dict(vis_backends=[dict(type='NoSuchVisBackend')])))
        >>> check_vis_backends(cfg)
        []
    """
    backends = (cfg.get('visualizer') or {}).get('vis_backends') or []
    problems = []
    for backend in backends if isinstance(backends, (list, tuple)) else [backends]:
        name = backend.get('type') if isinstance(backend, dict) else None
        name = name if isinstance(name, str) else getattr(name, '__name__', '')
        module, package = VIS_BACKEND_PACKAGES.get(name, (None, None))
        if module is not None and importlib.util.find_spec(module) is None:
            problems.append(
                ConfigProblem(
                    'visualizer.vis_backends',
                    f'{name} needs the {package} package, which is not installed: '
                    f'pip install {package}',
                )
            )
    return problems


def check_config(
    cfg: Config, splits: Sequence[str] = ('train', 'val'), check_files: Optional[bool] = None
) -> None:
    """Raises :class:`ConfigError` listing every mistake found (see the module docstring).

    Args:
        cfg: the full config (after command-line overrides).
        splits: which dataloaders to check: ``('train', 'val')`` for training,
            ``('test',)`` for testing.
        check_files: check that every listed video exists (see :func:`check_data`).

    Example:
        >>> cfg = Config(dict(model=dict(
        ...     backbone=dict(type='SmallBigResNet', depth=23, base_channels=4),
        ...     cls_head=dict(type='I3DHead', in_channels=256, num_classes=2))))
        >>> try:
        ...     check_config(cfg)
        ... except ConfigError as err:
        ...     print(err.problems[0].key)
        model.cls_head.in_channels
    """
    problems = (
        check_model(cfg)
        + check_loader_sizes(cfg, splits)
        + check_data(cfg, splits, check_files)
        + check_optim_wrapper(cfg)
        + check_vis_backends(cfg)
    )
    if problems:
        raise ConfigError(problems)


def has_config_check_hook(cfg: Config) -> bool:
    """Whether ``cfg.custom_hooks`` has a ``ConfigCheckHook``."""
    return any(
        hook.get('type') in ('ConfigCheckHook', ConfigCheckHook)
        for hook in cfg.get('custom_hooks') or []
    )


def check_before_build(cfg: Config, training: bool) -> None:
    """The ``ConfigCheckHook`` checks, for loops that run them before building dataloaders.

    Does nothing when the config has no ``ConfigCheckHook``. Splits: train and val when
    ``training``, test otherwise.
    """
    if has_config_check_hook(cfg):
        check_config(cfg, ('train', 'val') if training else ('test',))


class ConfigCheckHook(Hook):
    """Runs :func:`check_config` at ``before_run``, before any training or testing step.

    Checks the train and val dataloaders when the runner trains, the test dataloader
    when it tests. The package's command-line tools check earlier (before the runner is
    built); the annotation scan is cached, so it is not repeated.

    Args:
        check_files: check that every video of the annotation lists exists (one ``stat``
            per line and process; turn off for huge lists on slow network storage).

    Example config::

        custom_hooks = [dict(type='ConfigCheckHook', check_files=False)]
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_files: bool = True) -> None:
        self.check_files = check_files

    def before_run(self, runner) -> None:
        from mmengine.runner import BaseLoop

        training = isinstance(runner_train_loop(runner), BaseLoop)
        check_config(runner.cfg, ('train', 'val') if training else ('test',), self.check_files)
