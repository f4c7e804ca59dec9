"""Loading a SmallBig-ResNet checkpoint of any layout into a model, with clear errors.

The checkpoint's layout is detected and converted to the model's own layout (a core
network, a timm model with ``fc``, or an MMAction2 recognizer with ``backbone.`` /
``cls_head.fc_cls``). A mismatch lists the missing, unexpected and shape-mismatched keys
with hints on the likely cause (a 2D checkpoint, another depth or width, other block
types, another number of classes).
"""
import os
import warnings
from typing import Dict, List, Mapping, Tuple, Union

from torch import Tensor, nn

from ..utils.text import preview
from .errors import CheckpointError
from .io import read_state_dict
from .layouts import (CLASSIFIER_KEYS, LAYOUTS_2D, detect_layout, from_timm_state_dict,
                      size_hints, to_timm_state_dict)

def _unwrap(model: nn.Module) -> nn.Module:
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model


def _model_layout(target: Mapping[str, Tensor]) -> str:
    try:
        layout = detect_layout(target)
    except CheckpointError as err:
        raise CheckpointError(
            'load_state_dict_into needs a SmallBig-ResNet model (core, timm or MMAction2 recognizer); '
            f'this model does not look like one: {err}') from None
    if layout in LAYOUTS_2D:
        raise CheckpointError('the model is a 2D network (4-D conv weights); load_state_dict_into is '
                              'for SmallBig-ResNet video models')
    return layout


def _listing(title: str, items: List[str], limit: int = 10) -> str:
    return f'  {title} ({len(items)}): {preview(items, limit)}'


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
                     f'{model_fc.shape[0]} in the model: set num_classes, or strict=False to keep '
                     "the model's classifier")
    elif model_fc is not None and ckpt_fc is None:
        hints.append("the checkpoint has no classifier (a backbone checkpoint): strict=False keeps "
                     "the model's classifier")
    return hints


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


def load_state_dict_into(model: nn.Module, state_dict: Mapping[str, Tensor],
                         strict: bool = True, logger=None) -> None:
    """Loads a SmallBig-ResNet state dict of any layout into ``model``.

    The checkpoint layout is detected (:func:`~.layouts.detect_layout`) and converted to
    the model's: a core network takes the backbone and ignores a classifier; a timm model
    takes ``fc``; an MMAction2 recognizer takes ``backbone.`` and ``cls_head.fc_cls``.

    Args:
        model: a SmallBig-ResNet (core, timm model or MMAction2 recognizer), possibly
            wrapped in (Distributed)DataParallel.
        state_dict: the checkpoint's state dict, in any of
            :data:`~.layouts.LAYOUTS`.
        strict: require an exact match. With False, keys that are missing, unexpected or
            of another shape are skipped with a warning (e.g. a classifier for another
            number of classes) and everything else is loaded.
        logger: anything with ``warning(str)``; receives the non-strict report instead of
            :func:`warnings.warn`.

    Raises:
        CheckpointError: for a 2D checkpoint (with the inflation hint), a checkpoint of
            another model, or (strict) any mismatch: the message lists missing,
            unexpected and shape-mismatched keys, with hints.

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
    layout = detect_layout(state_dict)
    if layout in LAYOUTS_2D:
        raise CheckpointError(
            f'this looks like a 2D ResNet checkpoint ({layout}: 4-D conv weights): use '
            'pretrained2d=True, or smallbig_mm.weights.load_pretrained_2d / '
            'inflate_2d_state_dict to inflate it')
    ckpt_timm = to_timm_state_dict(state_dict, layout)
    target = model.state_dict()
    model_layout = _model_layout(target)
    converted = from_timm_state_dict(ckpt_timm, model_layout)
    missing, unexpected, mismatched = compare_state_dicts(converted, target)
    if not (missing or unexpected or mismatched):
        model.load_state_dict(converted, strict=True)
        return
    lines = [f'the checkpoint (layout {layout!r}) does not match the model '
             f'({type(model).__name__}, layout {model_layout!r}):']
    for title, keys in (('missing in the checkpoint', missing),
                        ('unexpected in the checkpoint', unexpected),
                        ('shape mismatches', mismatched)):
        if keys:
            lines.append(_listing(title, keys))
    model_timm = to_timm_state_dict(target, model_layout)
    if model_layout == 'mmaction_backbone':
        ckpt_timm = {k: v for k, v in ckpt_timm.items() if k not in CLASSIFIER_KEYS}
    lines += [f'  hint: {hint}' for hint in _hints(ckpt_timm, model_timm)]
    message = '\n'.join(lines)
    if strict:
        raise CheckpointError(message)
    loadable: Dict[str, Tensor] = {k: v for k, v in converted.items()
                                   if k in target and v.shape == target[k].shape}
    model.load_state_dict(loadable, strict=False)
    message = f'loaded {len(loadable)} of {len(target)} tensors (strict=False); skipped: ' + \
        message.split(':', 1)[1]
    if logger is not None:
        logger.warning(message)
    else:
        warnings.warn(message, stacklevel=2)


load_weights = load_state_dict_into  # the first name, kept for code that calls it


def load_checkpoint_into(model: nn.Module, path: Union[str, os.PathLike], strict: bool = True,
                         map_location='cpu', logger=None) -> None:
    """Reads a checkpoint file safely and loads it into ``model`` (any layout).

    Args:
        model: as for :func:`load_state_dict_into`.
        path: a ``.pth``-style or ``.safetensors`` file.
        strict: as for :func:`load_state_dict_into`.
        map_location: where to put the tensors while reading.
        logger: as for :func:`load_state_dict_into`.

    Raises:
        CheckpointError: naming the file: unreadable, unsafe, or not matching the model.

    Example:
        >>> import os, tempfile, torch
        >>> from smallbig_mm.models import SmallBigResNet
        >>> model = SmallBigResNet(depth=23, base_channels=8)
        >>> path = os.path.join(tempfile.mkdtemp(), 'ckpt.pth')
        >>> torch.save({'state_dict': model.state_dict()}, path)
        >>> load_checkpoint_into(SmallBigResNet(depth=23, base_channels=8), path)
    """
    state_dict = read_state_dict(path, map_location)
    try:
        load_state_dict_into(model, state_dict, strict=strict, logger=logger)
    except CheckpointError as err:
        raise CheckpointError(f'{os.fspath(path)}: {err}') from None


load_checkpoint = load_checkpoint_into  # the first name, kept for code that calls it
