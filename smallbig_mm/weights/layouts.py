"""Key layouts of SmallBig-ResNet checkpoints and the conversions between them.

The *timm* layout (``conv1.weight``, ..., ``layerX.Y.big1.bn.weight``, ..., ``fc.weight``)
is the hub: every other layout converts to it and back.

| layout              | backbone keys             | classifier                     |
|---------------------|---------------------------|--------------------------------|
| `timm`              | core keys                 | `fc.weight`, `fc.bias`         |
| `mmaction`          | `backbone.` + core keys   | `cls_head.fc_cls.weight/bias`  |
| `mmaction_backbone` | core keys                 | none                           |
| `reference`         | `module.` + reference names | `module.fc.weight/bias`      |

Reference names (xhl-video/SmallBigNet, see docs/architecture.md) differ from the core ones only in
the SmallBig parts: ``bigK.1.*`` is our ``bigK.bn.*`` (index 0 of the reference's
``Sequential`` is the parameter-free pooling), ``big4_1.weight`` / ``big4_2.0.weight`` /
``big4_2.1.*`` are our ``extra.reduce.weight`` / ``extra.expand.weight`` / ``extra.bn.*``.

Two 2D layouts are recognised so that they can be inflated (:mod:`.inflate`):
``resnet2d`` (torchvision / timm ResNet, 4-D conv weights, ``fc.*``) and
``resnet2d_mmcls`` (MMPretrain / mmcls ResNet: ``backbone.`` + the same names, ``head.fc.*``).
"""

import re
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from torch import Tensor

from ..models.smallbig_resnet import ARCH_SETTINGS
from ..utils.text import preview
from .errors import CheckpointError

LAYOUTS = ('timm', 'mmaction', 'mmaction_backbone', 'reference')
"""The 3D layouts this package converts among."""
LAYOUTS_2D = ('resnet2d', 'resnet2d_mmcls')
"""The 2D ImageNet ResNet layouts :func:`detect_layout` recognises (inputs to inflation)."""

CORE_KEY = re.compile(r'^(conv1|bn1)\.|^layer\d+\.\d+\.')
"""Matches keys of the core :class:`~smallbig_mm.models.SmallBigResNet`."""
CLASSIFIER_KEYS = ('fc.weight', 'fc.bias')
"""The classifier keys of the timm layout."""

_BOTTLENECK_DEPTHS = {**ARCH_SETTINGS, 152: (3, 8, 36, 3)}  # 152: 2D ResNets, for hints
_MMACTION_HEAD = 'cls_head.fc_cls.'
_BLOCK = r'^(?P<block>layer\d+\.\d+)\.'
# (core pattern, reference pattern) pairs; the groups are re-used on the other side.
_RENAMES: Tuple[Tuple[str, str], ...] = (
    (_BLOCK + r'big(?P<k>[123])\.bn\.(?P<rest>.+)$', r'\g<block>.big\g<k>.1.\g<rest>'),
    (_BLOCK + r'extra\.reduce\.(?P<rest>.+)$', r'\g<block>.big4_1.\g<rest>'),
    (_BLOCK + r'extra\.expand\.(?P<rest>.+)$', r'\g<block>.big4_2.0.\g<rest>'),
    (_BLOCK + r'extra\.bn\.(?P<rest>.+)$', r'\g<block>.big4_2.1.\g<rest>'),
)
_REFERENCE_RENAMES: Tuple[Tuple[str, str], ...] = (
    (_BLOCK + r'big(?P<k>[123])\.1\.(?P<rest>.+)$', r'\g<block>.big\g<k>.bn.\g<rest>'),
    (_BLOCK + r'big4_1\.(?P<rest>.+)$', r'\g<block>.extra.reduce.\g<rest>'),
    (_BLOCK + r'big4_2\.0\.(?P<rest>.+)$', r'\g<block>.extra.expand.\g<rest>'),
    (_BLOCK + r'big4_2\.1\.(?P<rest>.+)$', r'\g<block>.extra.bn.\g<rest>'),
)
_REFERENCE_ONLY = re.compile(_BLOCK + r'(big[123]\.1\.|big4_1\.|big4_2\.)')
_UNSHARED_BIG_CONV = re.compile(_BLOCK + r'big[123]\.conv\.')


def stem_prefix(state_dict: Mapping[str, Tensor]) -> Optional[str]:
    """The prefix in front of the stem's ``conv1.weight`` ('' if bare), or None if absent.

    Example:
        >>> stem_prefix({'backbone.conv1.weight': None}), stem_prefix({'fc.weight': None})
        ('backbone.', None)
    """
    for prefix in ('', 'module.', 'backbone.', 'module.backbone.'):
        if f'{prefix}conv1.weight' in state_dict:
            return prefix
    return None


def detect_layout(state_dict: Mapping[str, Tensor]) -> str:
    """Names the layout of a ResNet-style state dict.

    Decided by the prefix of the stem weight ``conv1.weight`` and its rank (4-D: a 2D
    ResNet; 5-D: a video model): ``module.`` + 5-D is ``'reference'``; ``backbone.`` + 5-D
    ``'mmaction'``; bare 5-D ``'timm'`` with an ``fc`` classifier and
    ``'mmaction_backbone'`` without; bare or ``module.`` 4-D ``'resnet2d'``; ``backbone.`` 4-D
    ``'resnet2d_mmcls'``. A bare 5-D dict using reference names (``big1.1.*``,
    ``big4_1.*``) is ``'reference'`` with its ``module.`` prefix already stripped.

    Args:
        state_dict: parameter name -> tensor.

    Returns:
        One of :data:`LAYOUTS` or :data:`LAYOUTS_2D`.

    Raises:
        CheckpointError: if it is empty, has no ResNet stem, or the stem is not 4-D/5-D.

    Example:
        >>> from smallbig_mm.models import SmallBigResNet
        >>> detect_layout(SmallBigResNet(depth=23, base_channels=8).state_dict())
        'mmaction_backbone'
    """
    if not state_dict:
        raise CheckpointError('the state dict is empty: it holds no weights')
    prefix = stem_prefix(state_dict)
    if prefix is None:
        raise CheckpointError(
            'this is not a ResNet-style checkpoint: it has no stem weight "conv1.weight" '
            '(bare or with a "module." / "backbone." prefix); it probably belongs to a '
            f'different model. Its keys: {preview(state_dict, limit=6)}'
        )
    ndim = state_dict[f'{prefix}conv1.weight'].ndim
    if ndim == 4:
        return 'resnet2d_mmcls' if prefix.endswith('backbone.') else 'resnet2d'
    if ndim != 5:
        raise CheckpointError(
            f'the stem weight {prefix}conv1.weight is {ndim}-D; a 2D ResNet has 4-D and a '
            'SmallBig-ResNet 5-D (O, I, T, H, W) conv weights'
        )
    if prefix == 'module.':
        return 'reference'
    if prefix == 'backbone.':
        return 'mmaction'
    if prefix == 'module.backbone.':
        raise CheckpointError(
            'keys start with "module.backbone.": this is an MMAction2 state dict saved from a '
            'DistributedDataParallel wrapper; strip the leading "module." first'
        )
    if any(_REFERENCE_ONLY.match(key) for key in state_dict):
        return 'reference'
    return 'timm' if 'fc.weight' in state_dict else 'mmaction_backbone'


def _check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        hint = (
            ' (a 2D ResNet: inflate it with inflate_2d_state_dict / pretrained2d=True)'
            if layout in LAYOUTS_2D
            else ''
        )
        raise CheckpointError(f'unknown layout {layout!r}{hint}: use one of {LAYOUTS}')
    return layout


def _rename(key: str, rules: Tuple[Tuple[str, str], ...]) -> str:
    for pattern, replacement in rules:
        new, count = re.subn(pattern, replacement, key)
        if count:
            return new
    return key


def _check_timm_keys(keys: Iterable[str], what: str) -> None:
    foreign = [k for k in keys if not CORE_KEY.match(k) and k not in CLASSIFIER_KEYS]
    if foreign:
        raise CheckpointError(
            f'{what} has keys that belong to no SmallBig-ResNet layer: {preview(foreign, limit=6)}; '
            'is it a checkpoint of a different model?'
        )


def to_timm_state_dict(
    state_dict: Mapping[str, Tensor], layout: Optional[str] = None
) -> Dict[str, Tensor]:
    """Converts a state dict of any of :data:`LAYOUTS` to the timm (core + ``fc``) layout.

    Tensors are not copied: the result shares them with the input.

    Args:
        state_dict: parameter name -> tensor, in the layout ``layout``.
        layout: the source layout; detected with :func:`detect_layout` when None.

    Returns:
        The core keys (``conv1.weight``, ``layer1.0.bn1.weight``, ...) plus ``fc.weight``
        and ``fc.bias`` when the source has a classifier.

    Raises:
        CheckpointError: for a 2D checkpoint, an unknown layout, or keys that fit no layer.

    Example:
        >>> import torch
        >>> sd = {'module.conv1.weight': torch.zeros(8, 3, 1, 7, 7),
        ...       'module.layer2.0.big1.1.weight': torch.zeros(8)}
        >>> sorted(to_timm_state_dict(sd))
        ['conv1.weight', 'layer2.0.big1.bn.weight']
    """
    layout = _check_layout(layout or detect_layout(state_dict))
    out: Dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if layout == 'mmaction':
            if key.startswith(_MMACTION_HEAD):
                key = 'fc.' + key[len(_MMACTION_HEAD) :]
            elif key.startswith('backbone.'):
                key = key[len('backbone.') :]
            elif key.startswith('data_preprocessor.'):
                continue  # normalisation constants of the recognizer, not weights
        elif layout == 'reference':
            key = _rename(
                key[len('module.') :] if key.startswith('module.') else key, _REFERENCE_RENAMES
            )
        out[key] = value
    _check_timm_keys(out, f'the {layout} state dict')
    return out


def from_timm_state_dict(state_dict: Mapping[str, Tensor], layout: str) -> Dict[str, Tensor]:
    """Converts a timm-layout state dict (core keys + optional ``fc``) to ``layout``.

    ``'mmaction_backbone'`` drops the classifier. Tensors are not copied.

    Args:
        state_dict: core keys plus optionally ``fc.weight`` / ``fc.bias``.
        layout: one of :data:`LAYOUTS`.

    Returns:
        The state dict in ``layout``.

    Raises:
        CheckpointError: for an unknown layout, keys that fit no layer, or (for
            ``'reference'``) unshared big-view convs, which the reference network has not.

    Example:
        >>> import torch
        >>> sd = {'conv1.weight': torch.zeros(8, 3, 1, 7, 7), 'fc.weight': torch.zeros(5, 64)}
        >>> sorted(from_timm_state_dict(sd, 'mmaction'))
        ['backbone.conv1.weight', 'cls_head.fc_cls.weight']
    """
    _check_layout(layout)
    _check_timm_keys(state_dict, 'the timm state dict')
    if layout == 'reference':
        unshared = [k for k in state_dict if _UNSHARED_BIG_CONV.match(k)]
        if unshared:
            raise CheckpointError(
                'the reference layout has no unshared big-view convs (shared_big_weights=False '
                f'models): {preview(unshared, limit=6)}; convert to timm or mmaction instead'
            )
    out: Dict[str, Tensor] = {}
    for key, value in state_dict.items():
        is_head = key in CLASSIFIER_KEYS
        if layout == 'mmaction':
            key = _MMACTION_HEAD + key[len('fc.') :] if is_head else 'backbone.' + key
        elif layout == 'mmaction_backbone' and is_head:
            continue
        elif layout == 'reference':
            key = 'module.' + _rename(key, _RENAMES)
        out[key] = value
    return out


def convert_state_dict(
    state_dict: Mapping[str, Tensor], to: str, source_layout: Optional[str] = None
) -> Dict[str, Tensor]:
    """Converts between any two of :data:`LAYOUTS` (through the timm layout).

    Args:
        state_dict: the source state dict.
        to: the target layout.
        source_layout: the source layout; detected when None.

    Returns:
        The state dict in layout ``to``.

    Example:
        >>> import torch
        >>> sd = {'backbone.conv1.weight': torch.zeros(8, 3, 1, 7, 7)}
        >>> list(convert_state_dict(sd, 'reference'))
        ['module.conv1.weight']
    """
    return from_timm_state_dict(to_timm_state_dict(state_dict, source_layout), to)


def classifier_classes(state_dict: Mapping[str, Tensor]) -> Optional[int]:
    """Classes of a SmallBig-ResNet checkpoint's classifier (any 3D layout), None if it has none.

    Example:
        >>> import torch
        >>> from smallbig_mm.models import SmallBigResNet
        >>> sd = dict(SmallBigResNet(depth=23, base_channels=8).state_dict())
        >>> classifier_classes(sd) is None
        True
        >>> sd.update({'fc.weight': torch.zeros(5, 256), 'fc.bias': torch.zeros(5)})
        >>> classifier_classes(sd)
        5
    """
    layout = detect_layout(state_dict)
    if layout in LAYOUTS_2D:
        return None
    weight = to_timm_state_dict(state_dict, layout).get('fc.weight')
    return None if weight is None else int(weight.shape[0])


def stage_depths(keys: Iterable[str], prefix: str = '') -> List[int]:
    """Counts the blocks of each stage (``layer1..layer4``) named in ``keys``.

    Example:
        >>> stage_depths(['layer1.0.conv1.weight', 'layer1.2.conv1.weight', 'layer3.5.bn1.bias'])
        [3, 0, 6, 0]
    """
    pattern = re.compile('^' + re.escape(prefix) + r'layer([1-4])\.(\d+)\.')
    counts = [0, 0, 0, 0]
    for key in keys:
        match = pattern.match(key)
        if match:
            stage, block = int(match.group(1)) - 1, int(match.group(2))
            counts[stage] = max(counts[stage], block + 1)
    return counts


def depth_of(keys: Iterable[str], prefix: str = '') -> Optional[int]:
    """The bottleneck-ResNet depth whose blocks per stage match ``keys``, else None.

    Example:
        >>> depth_of(['layer1.2.conv1.weight', 'layer2.3.conv1.weight',
        ...           'layer3.22.conv1.weight', 'layer4.2.conv1.weight'])
        101
    """
    counts = tuple(stage_depths(keys, prefix))
    for depth, blocks in _BOTTLENECK_DEPTHS.items():
        if blocks == counts:
            return depth
    return None


def size_hints(
    source: Mapping[str, Tensor], model: Mapping[str, Tensor], source_name: str = 'this checkpoint'
) -> List[str]:
    """Depth and width differences between two timm-layout (or 2D ResNet) state dicts."""
    hints = []
    source_depth, model_depth = depth_of(source), depth_of(model)
    if source_depth != model_depth:
        hints.append(
            f'{source_name} has depth {source_depth or "unknown"} but the model has '
            f'depth {model_depth or "unknown"}'
        )
    stem, model_stem = source.get('conv1.weight'), model.get('conv1.weight')
    if stem is not None and model_stem is not None and stem.shape[0] != model_stem.shape[0]:
        hints.append(
            f'the stem of {source_name} has {stem.shape[0]} channels but the '
            f"model's {model_stem.shape[0]}: base_channels differ"
        )
    return hints
