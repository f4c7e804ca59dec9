"""The weights record (:class:`~.meta.WeightsMeta`) an MMAction2 config implies.

Works on the config as plain data (an MMEngine ``Config``, its ``to_dict()``, or the
literals :func:`~.hub.config_text.parse_config_text` reads from a checkpoint's
``meta['cfg']``), for any config: the project's own and one that inherits only
MMAction2's ``_base_`` files. Standard library only.

- the input: the model's ``data_preprocessor`` (mean, std, ``to_rgb``) and the test
  pipeline (frame sampler, resize, crop), the train pipeline's final size;
- the classes: the train dataset's ``metainfo['classes']`` (MMEngine reads a label-map
  file named there), else the class folders of its annotation list
  (:func:`classes_from_annotations`);
- the provenance: the config's file name, its dataset, the schedule.
"""

import datetime
import os
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..utils.pipelines import FRAME_SAMPLERS
from ..version import __version__
from .meta import InputSpec, Provenance, WeightsMeta, is_local_path

CROP_VIEWS = {'CenterCrop': 1, 'ThreeCrop': 3, 'TenCrop': 10}
"""Test crop steps of MMAction2 and the views each gives."""
UNIFORM_SAMPLERS = ('UniformSample', 'UniformSampleFrames')


def as_mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one: a config's or checkpoint's entry
    read as a section whatever it holds.

    Example:
        >>> as_mapping({'depth': 23}), as_mapping(None), as_mapping([1, 2])
        ({'depth': 23}, {}, {})
    """
    return value if isinstance(value, Mapping) else {}


def _steps(pipeline: Any) -> List[Mapping[str, Any]]:
    return [
        s
        for s in (pipeline if isinstance(pipeline, (list, tuple)) else [])
        if isinstance(s, Mapping)
    ]


def _dataset_pipeline(dataset: Any) -> Any:
    """The ``pipeline`` of a dataset config, through wrappers (``RepeatDataset``'s
    ``dataset``, ``ConcatDataset``'s first of ``datasets``)."""
    for _ in range(4):
        dataset = as_mapping(dataset)
        if 'pipeline' in dataset:
            return dataset['pipeline']
        inner = dataset.get('dataset')
        if inner is None and isinstance(dataset.get('datasets'), (list, tuple)):
            inner = next(iter(dataset['datasets']), None)
        dataset = inner
    return None


def config_pipeline(cfg: Mapping[str, Any], split: str) -> List[Mapping[str, Any]]:
    """The pipeline the runner uses for ``split`` (train, val or test):
    ``<split>_dataloader.dataset.pipeline`` (through dataset wrappers), else the
    ``<split>_pipeline`` variable.

    The dataloader's copy comes first: a config variable is copied into the dataloader
    when its file is read, so a child config that redefines ``val_pipeline`` without
    its ``val_dataloader`` changes the variable but not what MMAction2 runs.

    Example:
        >>> config_pipeline(dict(val_pipeline=[dict(type='A')],
        ...                      val_dataloader=dict(dataset=dict(pipeline=[dict(type='B')]))),
        ...                 'val')
        [{'type': 'B'}]
    """
    pipeline = _dataset_pipeline(as_mapping(cfg.get(f'{split}_dataloader')).get('dataset'))
    return _steps(pipeline) or _steps(cfg.get(f'{split}_pipeline'))


def _hw(size: Any) -> Optional[Tuple[int, int]]:
    """(h, w) of an MMAction2 ``crop_size`` (int or (w, h)) or fixed ``scale`` (w, h)."""
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    if (
        isinstance(size, (list, tuple))
        and len(size) == 2
        and all(isinstance(v, int) and v > 0 for v in size)
    ):
        return int(size[1]), int(size[0])
    return None


def _resize(step: Mapping[str, Any]) -> Tuple[Optional[int], Optional[Tuple[int, int]]]:
    """(short side, fixed (h, w)) of a ``Resize`` step."""
    scale = step.get('scale')
    if isinstance(scale, (list, tuple)) and len(scale) == 2 and -1 in scale:
        return int(max(scale)), None
    if step.get('keep_ratio', True) and isinstance(scale, (list, tuple)) and len(scale) == 2:
        return int(min(scale)), None  # keep_ratio: fits inside; short side the smaller
    return None, _hw(scale)


def _final_size(steps: Sequence[Mapping[str, Any]]) -> Optional[Tuple[int, int]]:
    """The (h, w) the last fixed-size step of a pipeline gives (crop or fixed resize)."""
    size = None
    for step in steps:
        if step.get('type') in ('Resize', 'RandomRescale'):
            fixed = _resize(step)[1]
            size = fixed or size
        elif 'crop_size' in step and _hw(step.get('crop_size')):
            size = _hw(step['crop_size'])
    return size


def input_from_config(cfg: Mapping[str, Any]) -> InputSpec:
    """The :class:`InputSpec` of a config (test pipeline, else val; ImageNet-free defaults).

    Example:
        >>> cfg = dict(model=dict(data_preprocessor=dict(mean=[114] * 3, std=[57] * 3)),
        ...            test_pipeline=[dict(type='SampleFrames', clip_len=4, frame_interval=2,
        ...                                num_clips=2, test_mode=True),
        ...                           dict(type='Resize', scale=(-1, 64)),
        ...                           dict(type='ThreeCrop', crop_size=48)])
        >>> spec = input_from_config(cfg)
        >>> spec.mean, spec.num_frames, spec.test_crop, spec.test_clips, spec.test_crops
        ((114.0, 114.0, 114.0), 4, (48, 48), 2, 3)
    """
    pre = as_mapping(as_mapping(cfg.get('model')).get('data_preprocessor'))
    mean: Sequence[float] = pre.get('mean') or (0.0, 0.0, 0.0)
    std: Sequence[float] = pre.get('std') or (1.0, 1.0, 1.0)
    steps = config_pipeline(cfg, 'test') or config_pipeline(cfg, 'val')
    sampler = next((s for s in steps if s.get('type') in FRAME_SAMPLERS), {})
    uniform = sampler.get('type') in UNIFORM_SAMPLERS
    short = None
    fixed = None
    for step in steps:
        if step.get('type') == 'Resize':
            short, fixed = _resize(step)
    crop = next((s for s in steps if s.get('type') in CROP_VIEWS), {})
    test_crop = _hw(crop.get('crop_size')) or fixed or (224, 224)
    values: Dict[str, Any] = dict(
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        value_range=255,
        channel_order='BGR' if pre.get('to_rgb') else 'RGB',
        num_frames=int(sampler.get('clip_len', 8)),
        frame_interval=1 if uniform else int(sampler.get('frame_interval', 1)),
        sampling='uniform' if uniform else 'dense',
        train_crop=_final_size(config_pipeline(cfg, 'train')),
        test_crop=test_crop,
        resize_short_side=short,
        test_clips=int(sampler.get('num_clips', 1)),
        test_crops=CROP_VIEWS.get(str(crop.get('type')), 1),
    )
    return InputSpec(**values)


def classes_from_annotations(items: Iterable[Tuple[str, int]]) -> Optional[List[str]]:
    """Class names from the class folders of an annotation list, when it has them.

    Kinetics-style lists name each video ``<class>/<video>`` (relative to the data
    prefix). The names are used only when every label's videos lie in one folder, each
    folder holds one label, and the labels are 0..K-1.

    Args:
        items: (path relative to the data prefix, label) of the list's entries.

    Example:
        >>> classes_from_annotations([('walk/a.mp4', 1), ('run/b.mp4', 0), ('walk/c.mp4', 1)])
        ['run', 'walk']
        >>> classes_from_annotations([('a.mp4', 0), ('b.mp4', 1)]) is None
        True
    """
    folders: Dict[int, str] = {}
    for path, label in items:
        parts = re.split(r'[\\/]', path)
        if (
            len(parts) < 2
            or not isinstance(label, int)
            or folders.setdefault(label, parts[0]) != parts[0]
        ):
            return None
    if (
        not folders
        or sorted(folders) != list(range(len(folders)))
        or len(set(folders.values())) != len(folders)
    ):
        return None
    return [folders[i] for i in range(len(folders))]


def dataset_name(config_name: Optional[str], cfg: Mapping[str, Any]) -> Optional[str]:
    """The training data: MMAction2's config-name field ``..._<dataset>-<modality>.py``,
    else the annotation file's name (never its folder).

    Example:
        >>> dataset_name('smallbig_r50_8xb8-8x8x1-100e_kinetics400-rgb.py', {})
        'kinetics400'
    """
    if config_name:
        match = re.search(r'_([A-Za-z0-9]+)-(rgb|flow|audio|skeleton)\.py$', config_name)
        if match:
            return match.group(1)
    dataset = as_mapping(as_mapping(cfg.get('train_dataloader')).get('dataset'))
    ann_file = dataset.get('ann_file')
    return os.path.basename(ann_file) if isinstance(ann_file, str) and ann_file else None


def meta_from_config(
    cfg: Mapping[str, Any],
    config_name: Optional[str] = None,
    classes: Optional[Sequence[str]] = None,
    epochs: Optional[int] = None,
    date: Optional[str] = None,
) -> WeightsMeta:
    """The record of weights trained with ``cfg``.

    Args:
        cfg: the config as a mapping.
        config_name: its file name or path (only the name is kept).
        classes: the class names, if known; else the train dataset's
            ``metainfo['classes']`` where it is a list.
        epochs: epochs trained when the weights were written.
        date: ISO date; default now (UTC).
    """
    if classes is None:
        metainfo = as_mapping(
            as_mapping(as_mapping(cfg.get('train_dataloader')).get('dataset')).get('metainfo')
        )
        found = metainfo.get('classes')
        if isinstance(found, (list, tuple)) and found and all(isinstance(c, str) for c in found):
            classes = found
    name = os.path.basename(config_name) if config_name else None
    if name and is_local_path(name):
        name = None
    max_epochs = as_mapping(cfg.get('train_cfg')).get('max_epochs')
    provenance = Provenance(
        config=name,
        dataset=dataset_name(name, cfg),
        epochs=epochs,
        max_epochs=max_epochs if isinstance(max_epochs, int) else None,
        date=date or datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        package_version=__version__,
    )
    return WeightsMeta(input_from_config(cfg), tuple(classes) if classes else None, provenance)
