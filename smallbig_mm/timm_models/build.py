"""One builder for "a timm model name + optional weights".

:func:`create_with_weights` is what ``hubconf.py``, :func:`smallbig_mm.apis.from_timm`,
the ONNX export (:func:`smallbig_mm.deploy.build_clip_model`) and the benchmark call:

1. the weights are fetched once (:func:`~smallbig_mm.weights.sources.fetch_checkpoint`:
   a checkpoint file of any layout, a hub folder, an ``https://`` URL, ``hf-hub:ORG/NAME``),
   and read by the guarded reader;
2. a hub folder's or Hub repository's ``config.json`` must name the same architecture, and
   its ``model_args`` set the network (:func:`~smallbig_mm.weights.sources.source_config`;
   explicit keyword arguments win);
3. ``num_classes`` defaults to the checkpoint's classifier;
4. ``timm.create_model``: an unknown name or an argument the model does not take is a
   one-line :class:`~smallbig_mm.utils.errors.UsageError`;
5. the weights' record (:mod:`~smallbig_mm.weights.meta`: the hub folder's
   ``weights_meta``, the checkpoint's ``meta['weights_meta']`` or its config text) sets
   ``num_frames`` and timm's ``pretrained_cfg`` (mean, std, input size, crop, class names),
   as timm's own ``local-dir:`` does, and is kept as ``model.weights_meta`` (None without
   one);
6. the weights go through the weights chain (:func:`~smallbig_mm.weights.load_weights`):
   with ``finetune=True`` a classifier for another
   ``num_classes`` is dropped and logged once, a 2D ImageNet ResNet is inflated; with
   ``finetune=False`` (inference, export) the checkpoint must fit exactly. Any other misfit
   is the fit check's one-line :class:`~smallbig_mm.weights.errors.CheckpointError`.

Imports timm and torch, nothing of MMEngine, MMAction2 or MMCV.
"""

import logging
import os
from dataclasses import replace
from typing import Any, Dict, List, Optional, Union

import timm
from torch import nn

from ..utils.errors import UsageError
from ..weights import fetch_checkpoint, load_weights
from ..weights.layouts import classifier_classes
from ..weights.meta import WeightsMeta, timm_pretrained_cfg
from ..weights.meta_files import source_meta
from ..weights.sources import source_config

_logger = logging.getLogger(__name__)


class UnknownModelError(UsageError):
    """A model name timm does not know.

    Attributes:
        name: the name asked for.
        known: the ``smallbig_*`` names this package registers.
    """

    def __init__(self, name: str, known: List[str]) -> None:
        self.name, self.known = name, known
        super().__init__(
            f'unknown model {name!r}: not a timm model name (this package '
            f'registers: {", ".join(known)})'
        )


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """``timm.create_model(name, **kwargs)`` with one-line :class:`UsageError` s.

    Raises:
        UnknownModelError: timm does not know ``name``.
        UsageError: an argument the model does not take (e.g. a typo in ``--model-kwargs``).

    Example:
        >>> create_model('smallbig_resnet23', widht=8)
        Traceback (most recent call last):
        ...
        smallbig_mm.utils.errors.UsageError: smallbig_resnet23: ... argument 'widht'
    """
    try:
        return timm.create_model(name, **kwargs)
    except RuntimeError as err:
        if 'Unknown model' not in str(err):
            raise
        raise UnknownModelError(name, timm.list_models('smallbig_*')) from None
    except TypeError as err:  # an argument the model does not take
        raise UsageError(f'{name}: {err}') from None


def _with_record(meta: WeightsMeta, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``kwargs`` with the record's clip length and timm ``pretrained_cfg`` (with the
    model's ``num_classes``, as timm's ``local-dir:`` gives it; the user's own
    ``num_frames`` and ``pretrained_cfg_overlay`` entries win)."""
    overlay = timm_pretrained_cfg(meta, kwargs.get('num_classes'))
    if meta.classes:
        overlay['label_names'] = list(meta.classes)
    overlay.update(kwargs.get('pretrained_cfg_overlay') or {})
    return {
        **kwargs,
        'num_frames': kwargs.get('num_frames', meta.input.num_frames),
        'pretrained_cfg_overlay': overlay,
    }


def create_with_weights(
    name: str,
    weights: Optional[Union[str, os.PathLike]] = None,
    *,
    finetune: bool = True,
    logger: Optional[logging.Logger] = None,
    **kwargs: Any,
) -> nn.Module:
    """A timm model by name, with optional weights from any source, fit-checked.

    Args:
        name: a timm model name, e.g. ``'smallbig_resnet50'``.
        weights: a checkpoint file of any SmallBig layout, a hub folder, an ``https://`` URL
            or ``hf-hub:ORG/NAME`` (a folder's or repository's ``config.json``
            ``model_args`` apply under ``kwargs``). ``None``: timm's initial weights.
        finetune: a ``num_classes`` other than the checkpoint's drops its classifier (the
            log says which keys) and a 2D ImageNet ResNet is inflated. With False the
            checkpoint must fit as it is (for inference and export).
        logger: receives what was loaded and dropped (default: this module's logger).
        kwargs: ``timm.create_model`` arguments; ``num_classes`` defaults to the
            checkpoint's classifier classes (``None`` counts as not given).

    Returns:
        The model (in training mode, as timm builds it), with ``weights_meta``: the
        weights' record, or None.

    Raises:
        UnknownModelError, UsageError: an unknown name or argument, or weights whose
            ``config.json`` names another architecture (one line).
        CheckpointError: weights missing, unreadable or not fitting (one line).

    Example:
        >>> import os, tempfile, torch
        >>> path = os.path.join(tempfile.mkdtemp(), 'w.pth')
        >>> torch.save(create_model('smallbig_resnet23', base_channels=4,
        ...                         num_classes=2).state_dict(), path)
        >>> create_with_weights('smallbig_resnet23', path, base_channels=4).num_classes
        2
    """
    if kwargs.get('num_classes', 0) is None:
        del kwargs['num_classes']
    if weights is None:
        return create_model(name, **kwargs)
    if not timm.is_model(name):  # before a download
        raise UnknownModelError(name, timm.list_models('smallbig_*'))
    config = source_config(os.fspath(weights))
    architecture = config.get('architecture')
    if architecture is not None and architecture != name:
        raise UsageError(
            f'{os.fspath(weights)} holds a {architecture} (its config.json), not a '
            f'{name}: build {architecture!r} with these weights'
        )
    kwargs = {**(config.get('model_args') or {}), **kwargs}
    ckpt = fetch_checkpoint(os.fspath(weights))
    if 'num_classes' not in kwargs:
        classes = classifier_classes(ckpt.state_dict)
        if classes is not None:
            kwargs['num_classes'] = classes
    meta = source_meta(config, ckpt, os.fspath(weights))
    if meta is not None:
        if meta.classes and len(meta.classes) != kwargs.get('num_classes'):
            meta = replace(meta, classes=None)  # fine-tuning for other classes
        kwargs = _with_record(meta, kwargs)
    model = create_model(name, **kwargs)
    model.weights_meta = meta
    load_weights(
        model,
        ckpt,
        policy='finetune' if finetune else 'exact',
        inflate_2d=finetune,
        logger=logger or _logger,
    )
    return model
