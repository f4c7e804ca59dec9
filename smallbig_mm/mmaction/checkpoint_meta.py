"""Training checkpoints record their weights' meaning (``meta['weights_meta']``).

Added behaviour, not a defect fix: ``import smallbig_mm.mmaction`` wraps MMEngine's
``Runner.save_checkpoint`` so that every checkpoint a runner writes, whatever its config
(the project's own, or one built only on MMAction2's ``_base_`` files with none of this
project's hooks), carries :class:`~smallbig_mm.weights.meta.WeightsMeta`: the input
(the model's ``data_preprocessor`` and the test pipeline), the class names (the train
dataset's ``metainfo['classes']``, else the class folders of its annotation list) and the
provenance (config file name, dataset, epochs, date, package version; no local path).
A record the caller passes in ``meta`` is kept.
"""

import inspect
import os
import weakref
from typing import Any, List, Optional

from mmengine.runner import Runner

from ..weights.meta import WEIGHTS_META_KEY, WeightsMeta
from ..weights.meta_config import classes_from_annotations, meta_from_config
from .patches.wrapping import install, is_patched

_CLASSES_SEEN: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()
"""Train dataset -> its class names (or None), found once per dataset: a Kinetics list has
240k entries, and the runner saves a checkpoint every epoch."""


def _dataset_classes(runner: Runner) -> Optional[List[str]]:
    """Class names of the train dataset: its metainfo, else its annotation folders."""
    try:
        dataset = runner.train_dataloader.dataset
    except Exception:  # a test-only runner has no train dataloader
        return None
    try:
        if dataset not in _CLASSES_SEEN:
            _CLASSES_SEEN[dataset] = _find_classes(dataset)
        return _CLASSES_SEEN[dataset]
    except TypeError:  # a dataset that cannot be weakly referenced
        return _find_classes(dataset)


def _find_classes(dataset: Any) -> Optional[List[str]]:
    """``metainfo['classes']`` (a list, or a label-map file MMEngine has read), else the
    class folders of the annotation list (:func:`classes_from_annotations`), else None."""
    metainfo = getattr(dataset, 'metainfo', None) or {}
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if isinstance(classes, (list, tuple)) and classes and all(isinstance(c, str) for c in classes):
        return list(classes)
    prefix = (
        (getattr(dataset, 'data_prefix', None) or {}).get('video')
        or (getattr(dataset, 'data_prefix', None) or {}).get('img')
        or ''
    )
    try:
        items = [
            (
                os.path.relpath(d.get('filename') or d.get('frame_dir'), prefix)
                if prefix
                else (d.get('filename') or d.get('frame_dir')),
                d.get('label'),
            )
            for d in (dataset.get_data_info(i) for i in range(len(dataset)))
        ]
    except Exception:  # not a list of labelled files
        return None
    return classes_from_annotations(items)


def runner_meta(runner: Runner, epochs: Optional[int]) -> WeightsMeta:
    """The record of the weights ``runner`` trains, from its config and train dataset."""
    cfg = runner.cfg
    return meta_from_config(
        cfg, getattr(cfg, 'filename', None), _dataset_classes(runner), epochs=epochs
    )


def _install() -> None:
    original = Runner.save_checkpoint
    signature = inspect.signature(original)

    def save_checkpoint(self: Runner, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        meta = dict(bound.arguments.get('meta') or {})
        if WEIGHTS_META_KEY not in meta:  # epochs as MMEngine counts them in meta['epoch']
            by_epoch = bound.arguments.get('by_epoch', True)
            epochs = meta.get('epoch', self.epoch + 1 if by_epoch else self.epoch)
            meta[WEIGHTS_META_KEY] = runner_meta(
                self, epochs if isinstance(epochs, int) else None
            ).to_dict()
        bound.arguments['meta'] = meta
        return original(*bound.args, **bound.kwargs)

    install(Runner, 'save_checkpoint', save_checkpoint)


def is_applied() -> bool:
    """Whether ``Runner.save_checkpoint`` writes the record."""
    return is_patched(Runner, 'save_checkpoint')


def apply() -> bool:
    """Installs the wrapper once; True if installed now."""
    if is_applied():
        return False
    _install()
    return True
