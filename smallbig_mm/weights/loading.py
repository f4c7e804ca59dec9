"""Fitting checkpoint weights to a model: the one check every loading route runs first.

Every route that puts weights into a model (``tools/test.py CKPT``, the demo's checkpoint,
``--resume``, ``load_from=``, the backbone's ``pretrained=`` and ``init_cfg`` Pretrained,
timm's local files) calls :func:`fit_state_dict` before anything is computed with the
weights. It converts the checkpoint's layout to the model's (a core network, a timm model
with ``fc``, an MMAction2 recognizer with ``backbone.`` / ``cls_head.fc_cls``), then
compares keys and shapes:

- an exact fit loads;
- with ``finetune=True`` a classifier for another number of classes (or none at all) is
  replaced by the model's own fresh one, and the keys dropped are logged;
- with ``allow_partial=True`` whatever fits is loaded and the rest is logged;
- anything else raises a one-line :class:`CheckpointError`: the file, the counts of
  missing, unexpected and mis-shaped keys with a few examples, and hints (another depth or
  width, big views or extra units on one side, another class count, a 2D ResNet that
  wants ``pretrained2d=True``).
"""
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ..utils.text import preview
from .errors import CheckpointError
from .io import read_state_dict
from .layouts import (CLASSIFIER_KEYS, LAYOUTS, LAYOUTS_2D, detect_layout,
                      from_timm_state_dict, size_hints, to_timm_state_dict)

HEAD_KEYS = CLASSIFIER_KEYS + ('cls_head.fc_cls.weight', 'cls_head.fc_cls.bias')
"""Classifier keys of the timm / core and MMAction2 recognizer layouts: what fine-tuning drops."""
EXAMPLES = 3
"""Keys shown per category in a one-line error."""


def _unwrap(model: nn.Module) -> nn.Module:
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model


def _layout(state_dict: Mapping[str, Tensor]) -> Optional[str]:
    try:
        return detect_layout(state_dict)
    except CheckpointError:
        return None


def _strip_module(state_dict: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    if state_dict and all(k.startswith('module.') for k in state_dict):
        return {k[len('module.'):]: v for k, v in state_dict.items()}
    return dict(state_dict)


def listing(title: str, items: List[str], limit: int = EXAMPLES) -> str:
    """``'title (N): a, b, c, ...'``, the one formatter of key lists.

    Example:
        >>> listing('missing', ['a', 'b', 'c', 'd'], limit=2)
        'missing (4): a, b, ...'
    """
    return f'{title} ({len(items)}): {preview(items, limit, total=False)}'


def compare_state_dicts(ckpt: Mapping[str, Tensor], model: Mapping[str, Tensor]
                        ) -> Tuple[List[str], List[str], List[str]]:
    """(missing, unexpected, shape mismatches) of ``ckpt`` against ``model``'s keys.

    Example:
        >>> import torch
        >>> compare_state_dicts({'a': torch.zeros(2), 'b': torch.zeros(1)},
        ...                     {'a': torch.zeros(3), 'c': torch.zeros(1)})
        (['c'], ['b'], ['a: checkpoint (2,) vs model (3,)'])
    """
    missing = [k for k in model if k not in ckpt]
    unexpected = [k for k in ckpt if k not in model]
    mismatched = [f'{k}: checkpoint {tuple(ckpt[k].shape)} vs model {tuple(model[k].shape)}'
                  for k in model if k in ckpt and ckpt[k].shape != model[k].shape]
    return missing, unexpected, mismatched


def _hints(ckpt: Mapping[str, Tensor], model: Mapping[str, Tensor]) -> List[str]:
    """Likely causes of a mismatch, from two timm-layout state dicts."""
    hints = size_hints(ckpt, model)
    for part, option in (('.big', 'block_types / big_views'), ('.extra.', 'extra_stages')):
        in_ckpt = any(part in k for k in ckpt)
        in_model = any(part in k for k in model)
        name = 'big views' if part == '.big' else 'extra units'
        if in_ckpt and not in_model:
            hints.append(f'the checkpoint has {name} the model lacks: check {option}')
        elif in_model and not in_ckpt:
            hints.append(f'the model has {name} the checkpoint lacks (a baseline checkpoint?): '
                         f'check {option}')
    temporal = [k for k in ckpt if k in model and ckpt[k].ndim == 5 and model[k].ndim == 5
                and ckpt[k].shape[2] != model[k].shape[2]]
    if temporal:
        hints.append(f'temporal kernel sizes differ ({temporal[0]}): 3D and SmallBig/2D blocks '
                     'do not match, check block_types')
    ckpt_fc, model_fc = ckpt.get('fc.weight'), model.get('fc.weight')
    if ckpt_fc is not None and model_fc is not None and ckpt_fc.shape[1:] != model_fc.shape[1:]:
        hints.append(f'the classifier takes {ckpt_fc.shape[1]} features in the checkpoint and '
                     f'{model_fc.shape[1]} in the model: the head in_channels must equal the '
                     'backbone width (num_features)')
    elif ckpt_fc is not None and model_fc is not None and ckpt_fc.shape != model_fc.shape:
        hints.append(f'the classifier has {ckpt_fc.shape[0]} classes in the checkpoint and '
                     f'{model_fc.shape[0]} in the model: set num_classes={ckpt_fc.shape[0]} '
                     '(a config: model.cls_head.num_classes) to use it as it is, or fine-tune (load_from= in training, finetune=True) '
                     'to start a fresh classifier')
    elif model_fc is not None and ckpt_fc is None:
        hints.append('the checkpoint has no classifier (a backbone checkpoint): fine-tuning '
                     '(load_from= in training, finetune=True) starts a fresh one')
    return hints


@dataclass
class Fit:
    """How a checkpoint's state dict fits a model (see :func:`check_fit`).

    Attributes:
        state_dict: the checkpoint converted to the model's layout (and, after fine-tune
            head replacement, with the model's own classifier).
        missing, unexpected, mismatched: keys the checkpoint lacks, keys the model lacks,
            ``'key: checkpoint (shape) vs model (shape)'`` entries.
        dropped_head: classifier keys replaced by the model's own (``finetune``).
        hints: likely causes of a mismatch, each a short sentence.
        layout, model_layout: the detected layouts (None: not a SmallBig/ResNet layout).
    """
    state_dict: Dict[str, Tensor]
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)
    dropped_head: List[str] = field(default_factory=list)
    hints: List[str] = field(default_factory=list)
    layout: Optional[str] = None
    model_layout: Optional[str] = None

    @property
    def exact(self) -> bool:
        """True when every model key is given with its shape and nothing else is."""
        return not (self.missing or self.unexpected or self.mismatched)

    def problems(self) -> str:
        """The counts and examples, on one line."""
        parts = [listing(title, keys) for title, keys in (
            ('missing in the checkpoint', self.missing),
            ('unexpected in the checkpoint', self.unexpected),
            ('shape mismatches', self.mismatched)) if keys]
        return '; '.join(parts)

    def error(self, source: str, model_name: str) -> CheckpointError:
        """The one-line error naming ``source``, the counts, examples and hints."""
        layouts = f', checkpoint layout {self.layout!r}' if \
            self.layout and self.layout != self.model_layout else ''
        hints = ''.join(f'; hint: {hint}' for hint in self.hints)
        return CheckpointError(f'{source}: the checkpoint does not fit the model '
                               f'({model_name}{layouts}): {self.problems()}{hints}')


def check_fit(state_dict: Mapping[str, Tensor], model_state: Mapping[str, Tensor],
              finetune: bool = False) -> Fit:
    """Converts ``state_dict`` to ``model_state``'s layout and compares keys and shapes.

    SmallBig layouts (:data:`~.layouts.LAYOUTS`) are converted to the model's; other
    state dicts are compared as they are (after stripping a ``module.`` prefix). Missing
    ``num_batches_tracked`` counters take the model's values.

    Args:
        state_dict: the checkpoint's state dict.
        model_state: ``model.state_dict()``.
        finetune: a classifier (:data:`HEAD_KEYS`) with another number of classes, or
            none at all, is replaced by the model's own and listed in ``dropped_head``.

    Example:
        >>> import torch
        >>> fit = check_fit({'fc.weight': torch.zeros(7, 4)}, {'fc.weight': torch.zeros(5, 4)},
        ...                 finetune=True)
        >>> fit.exact, fit.dropped_head
        (True, ['fc.weight'])
    """
    layout, model_layout = _layout(state_dict), _layout(model_state)
    fit = Fit(_strip_module(state_dict), layout=layout, model_layout=model_layout)
    if layout in LAYOUTS_2D and model_layout not in LAYOUTS_2D:
        fit.hints.append(f'this looks like a 2D ResNet checkpoint ({layout}: 4-D conv weights): '
                         'use pretrained2d=True (backbone pretrained=...), or '
                         'smallbig_mm.weights.load_pretrained_2d to inflate it')
    elif layout is None and model_layout is not None:
        try:
            detect_layout(state_dict)
        except CheckpointError as err:
            fit.hints.append(str(err))
    elif layout in LAYOUTS and model_layout in LAYOUTS:
        try:
            ckpt_timm = to_timm_state_dict(state_dict, layout)
            fit.state_dict = from_timm_state_dict(ckpt_timm, model_layout)
            model_timm = to_timm_state_dict(model_state, model_layout)
            if model_layout == 'mmaction_backbone':
                ckpt_timm = {k: v for k, v in ckpt_timm.items() if k not in CLASSIFIER_KEYS}
            fit.hints += _hints(ckpt_timm, model_timm)
        except CheckpointError as err:
            fit.hints.append(str(err))
    state = fit.state_dict
    for key, value in model_state.items():
        if key not in state and key.endswith('num_batches_tracked'):
            state[key] = value
    if finetune:
        for key in HEAD_KEYS:
            if key in model_state and (key not in state or (
                    state[key].shape != model_state[key].shape
                    and state[key].shape[1:] == model_state[key].shape[1:])):
                state[key] = model_state[key]
                fit.dropped_head.append(key)
        if fit.dropped_head:  # the class-count hints no longer apply
            fit.hints = [h for h in fit.hints if 'classifier' not in h]
    fit.missing, fit.unexpected, fit.mismatched = compare_state_dicts(state, model_state)
    return fit


Log = Callable[[str], None]


def fit_state_dict(state_dict: Mapping[str, Tensor], model_state: Mapping[str, Tensor],
                   source: str, model_name: str, finetune: bool = False,
                   allow_partial: bool = False, log: Optional[Log] = None) -> Dict[str, Tensor]:
    """The state dict to load into a model, or a one-line :class:`CheckpointError`.

    Args:
        state_dict: the checkpoint's state dict, in any layout.
        model_state: ``model.state_dict()``.
        source: the file (or a description) for messages.
        model_name: the model for messages, e.g. ``'Recognizer3D'``.
        finetune: replace a classifier for another class count by the model's own.
        allow_partial: load whatever fits instead of refusing (the opt-in for partial
            loads); what was skipped is logged.
        log: receives what was dropped or skipped (default: :func:`warnings.warn`).

    Returns:
        A state dict in the model's layout: all of the model's keys, or with
        ``allow_partial`` those that fit.

    Raises:
        CheckpointError: ``'<source>: the checkpoint does not fit the model (...): missing
            in the checkpoint (N): ...; hint: ...'``, or tensors holding NaN or Inf.

    Example:
        >>> import torch
        >>> model = {'w': torch.zeros(2)}
        >>> fit_state_dict({'w': torch.ones(2)}, model, 'a.pth', 'Net')['w']
        tensor([1., 1.])
        >>> fit_state_dict({'v': torch.ones(2)}, model, 'a.pth', 'Net')
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.errors.CheckpointError: a.pth: the checkpoint does not fit the model (Net): missing in the checkpoint (1): w; unexpected in the checkpoint (1): v
    """
    log = log or (lambda message: warnings.warn(message, stacklevel=3))
    fit = check_fit(state_dict, model_state, finetune=finetune)
    if not fit.exact and not allow_partial:
        raise fit.error(source, model_name)
    state = fit.state_dict if fit.exact else {
        k: v for k, v in fit.state_dict.items()
        if k in model_state and v.shape == model_state[k].shape}
    non_finite = [k for k, v in state.items()
                  if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if non_finite:
        raise CheckpointError(
            f'{source}: {len(non_finite)} tensors hold NaN or Inf values '
            f'({preview(non_finite, EXAMPLES)}): the run that saved it diverged, or the file '
            'is corrupt; use an earlier checkpoint')
    if fit.dropped_head:
        log(f'{source}: fine-tuning: the checkpoint\'s classifier was dropped '
            f'({", ".join(fit.dropped_head)}: another number of classes, or none); the '
            'model keeps its freshly initialised classifier')
    if not fit.exact:
        log(f'{source}: partial load (allow_partial=True): loaded {len(state)} of '
            f'{len(model_state)} tensors; skipped: {fit.problems()}')
    return state


def load_state_dict_into(model: nn.Module, state_dict: Mapping[str, Tensor],
                         strict: Optional[bool] = None, logger=None, *, finetune: bool = False,
                         allow_partial: bool = False, source: str = 'the checkpoint') -> None:
    """Loads a SmallBig-ResNet state dict of any layout into ``model``, after :func:`check_fit`.

    The checkpoint layout is detected (:func:`~.layouts.detect_layout`) and converted to
    the model's: a core network takes the backbone and ignores a classifier; a timm model
    takes ``fc``; an MMAction2 recognizer takes ``backbone.`` and ``cls_head.fc_cls``.

    Args:
        model: a SmallBig-ResNet (core, timm model or MMAction2 recognizer), possibly
            wrapped in (Distributed)DataParallel.
        state_dict: the checkpoint's state dict, in any of :data:`~.layouts.LAYOUTS`.
        strict: the older name of the opt-in: ``strict=False`` is ``allow_partial=True``.
        logger: anything with ``warning(str)``; receives what was dropped or skipped
            instead of :func:`warnings.warn`.
        finetune: a classifier for another number of classes is dropped (logged).
        allow_partial: load what fits, skip the rest with a warning.
        source: the file, for messages.

    Raises:
        CheckpointError: one line: the counts of missing, unexpected and mis-shaped keys
            with hints (a 2D checkpoint, another depth, width or class count).

    Example:
        >>> from smallbig_mm.models import SmallBigResNet
        >>> src = SmallBigResNet(depth=23, base_channels=8)
        >>> state = from_timm_state_dict(src.state_dict(), 'reference')
        >>> dst = SmallBigResNet(depth=23, base_channels=8)
        >>> load_state_dict_into(dst, state)
        >>> bool((dst.conv1.weight == src.conv1.weight).all())
        True
    """
    model = _unwrap(model)
    allow_partial = allow_partial or strict is False
    log = logger.warning if logger is not None else None
    target = model.state_dict()
    if _layout(target) not in LAYOUTS:
        raise CheckpointError(
            'load_state_dict_into needs a SmallBig-ResNet video model (core, timm or MMAction2 '
            f'recognizer); {type(model).__name__} does not look like one')
    fitted = fit_state_dict(state_dict, target, source, type(model).__name__,
                            finetune=finetune, allow_partial=allow_partial, log=log)
    model.load_state_dict(fitted, strict=not allow_partial)


def load_checkpoint_into(model: nn.Module, path: Union[str, os.PathLike],
                    strict: Optional[bool] = None, map_location='cpu', logger=None, *,
                    finetune: bool = False, allow_partial: bool = False) -> None:
    """Reads a checkpoint file safely and loads it into ``model`` (any layout).

    Args:
        model: as for :func:`load_state_dict_into`.
        path: a ``.pth``-style or ``.safetensors`` file.
        strict, logger, finetune, allow_partial: as for :func:`load_state_dict_into`.
        map_location: where to put the tensors while reading.

    Raises:
        CheckpointError: naming the file: unreadable, unsafe, or not fitting the model.

    Example:
        >>> import os, tempfile, torch
        >>> from smallbig_mm.models import SmallBigResNet
        >>> model = SmallBigResNet(depth=23, base_channels=8)
        >>> path = os.path.join(tempfile.mkdtemp(), 'ckpt.pth')
        >>> torch.save({'state_dict': model.state_dict()}, path)
        >>> load_checkpoint_into(SmallBigResNet(depth=23, base_channels=8), path)
    """
    state_dict = read_state_dict(path, map_location)
    load_state_dict_into(model, state_dict, strict=strict, logger=logger, finetune=finetune,
                 allow_partial=allow_partial, source=os.fspath(path))


# the first names, kept for code that calls them
load_weights = load_state_dict_into
load_checkpoint = load_checkpoint_into
