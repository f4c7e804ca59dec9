"""Inflating 2D ImageNet ResNet weights into a SmallBig-ResNet.

A torchvision / timm (``fc.*``) or MMPretrain / mmcls (``backbone.*``, ``head.fc.*``)
ResNet state dict maps onto the core network by name. A 2D conv weight (O, I, k, k)
becomes (O, I, 1, k, k) for the SmallBig and C2D convs; a conv with temporal size
``kt > 1`` (the 3D baseline's 3x1x1 ``conv1``) gets the 2D kernel repeated ``kt`` times and
divided by ``kt``, so a clip of identical frames gives the 2D response. The classifier is
skipped. Keys the 2D network lacks (big-view norms, extra units, a classifier) keep the
model's current values; since those start at zero, a freshly built SmallBig network with
inflated weights computes the 2D ResNet frame by frame, averaged over time.
"""

import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..utils.text import preview
from .errors import CheckpointError
from .layouts import CORE_KEY, LAYOUTS_2D, detect_layout, size_hints, stem_prefix

OPTIONAL_KEY = re.compile(r'\.(big[123]|extra)\.')
"""Model keys a 2D ResNet cannot provide (big views, extra units): left at their init."""


def _group(keys: Sequence[str], limit: int = 8) -> str:
    """Summarises keys as patterns with counts, e.g. ``layer*.*.big1.bn.* (12)``."""
    counts: Dict[str, int] = {}
    for key in keys:
        module = re.sub(r'^layer\d+\.\d+\.', 'layer*.*.', key).rsplit('.', 1)[0]
        counts[module + '.*'] = counts.get(module + '.*', 0) + 1
    parts = [f'{pattern} ({n})' for pattern, n in counts.items()]
    more = f', ... ({len(parts) - limit} more patterns)' if len(parts) > limit else ''
    return ', '.join(parts[:limit]) + more if parts else 'none'


@dataclass
class InflationReport:
    """What :func:`inflate_2d_state_dict` did with each key.

    Attributes:
        inflated: model keys filled from a 2D conv weight given a temporal dimension.
        copied: model keys filled from a source tensor of the same shape (norm layers).
        skipped_source: source keys not used (the 2D classifier, anything non-ResNet).
        left_at_init: model keys the source lacks, kept at the model's current values.
        source: where the 2D weights came from (a file), when known.
    """

    inflated: List[str] = field(default_factory=list)
    copied: List[str] = field(default_factory=list)
    skipped_source: List[str] = field(default_factory=list)
    left_at_init: List[str] = field(default_factory=list)
    source: Optional[str] = None

    def line(self) -> str:
        """One clause for the chain's log line (:class:`~.pipeline.LoadReport`).

        Example:
            >>> InflationReport(inflated=['conv1.weight'], skipped_source=['fc.weight'],
            ...                 source='r50.pth').line()
            'inflated 2D weights from r50.pth: 1 inflated, 0 copied, 0 left at their initial values; skipped from the source: fc.* (1)'
        """
        origin = f' from {self.source}' if self.source else ''
        return (
            f'inflated 2D weights{origin}: {len(self.inflated)} inflated, '
            f'{len(self.copied)} copied, {len(self.left_at_init)} left at their initial '
            f'values; skipped from the source: {_group(self.skipped_source)}'
        )

    def summary(self) -> str:
        """A few readable lines: counts per category, keys grouped by pattern.

        Example:
            >>> print(InflationReport(inflated=['conv1.weight'], copied=['bn1.weight'],
            ...                       skipped_source=['fc.weight']).summary())
            inflated 2D weights into the model:
              inflated (2D conv -> 3D): 1 tensors: conv1.* (1)
              copied unchanged: 1 tensors: bn1.* (1)
              skipped from the source: 1 keys: fc.* (1)
              left at their initial values: 0 tensors: none
        """
        origin = f' from {self.source}' if self.source else ''
        return '\n'.join(
            [
                f'inflated 2D weights{origin} into the model:',
                f'  inflated (2D conv -> 3D): {len(self.inflated)} tensors: {_group(self.inflated)}',
                f'  copied unchanged: {len(self.copied)} tensors: {_group(self.copied)}',
                f'  skipped from the source: {len(self.skipped_source)} keys: '
                f'{_group(self.skipped_source)}',
                f'  left at their initial values: {len(self.left_at_init)} tensors: '
                f'{_group(self.left_at_init)}',
            ]
        )


def _core_2d(state_dict: Mapping[str, Tensor]) -> Tuple[Dict[str, Tensor], List[str]]:
    """Strips a 2D ResNet state dict to bare core keys; returns (core, skipped keys)."""
    layout = detect_layout(state_dict)
    if layout not in LAYOUTS_2D:
        raise CheckpointError(
            f'this is a 3D checkpoint (layout {layout!r}, 5-D conv weights), not a 2D ResNet: '
            'load it with load_weights / pretrained=..., not with inflation'
        )
    prefix = stem_prefix(state_dict) or ''
    core: Dict[str, Tensor] = {}
    skipped: List[str] = []
    for key, value in state_dict.items():
        bare = key[len(prefix) :] if key.startswith(prefix) else key
        if key.startswith(prefix) and CORE_KEY.match(bare):
            core[bare] = value
        else:
            skipped.append(key)
    return core, skipped


def _inflate(weight: Tensor, target_shape: torch.Size) -> Optional[Tensor]:
    """(O, I, k, k) -> (O, I, kt, k, k) repeated over kt and divided by kt; None if no fit."""
    if weight.ndim != 4 or len(target_shape) != 5:
        return None
    if tuple(weight.shape[:2]) != tuple(target_shape[:2]) or tuple(weight.shape[2:]) != tuple(
        target_shape[3:]
    ):
        return None
    kt = target_shape[2]
    return weight.unsqueeze(2).repeat(1, 1, kt, 1, 1) / kt


def inflate_2d_state_dict(
    state_dict_2d: Mapping[str, Tensor], model: nn.Module
) -> Tuple[Dict[str, Tensor], InflationReport]:
    """Builds a full state dict for ``model`` from a 2D ImageNet ResNet's weights.

    Args:
        state_dict_2d: a torchvision / timm or MMPretrain / mmcls ResNet state dict
            (4-D conv weights); its classifier is skipped.
        model: a core :class:`~smallbig_mm.models.SmallBigResNet` or a subclass (it may add
            a classifier ``fc``, which stays at its current values).

    Returns:
        ``(state_dict, report)``: every key of ``model.state_dict()``, ready for
        ``model.load_state_dict(state_dict)``, and an :class:`InflationReport`.

    Raises:
        CheckpointError: if the source is not a 2D ResNet, or it does not fit the model
            (a different depth or width): the message lists the keys and shapes.

    Example:
        >>> import torchvision
        >>> from smallbig_mm.models import SmallBigResNet
        >>> resnet = torchvision.models.resnet50(weights=None)
        >>> model = SmallBigResNet(depth=50)
        >>> state_dict, report = inflate_2d_state_dict(resnet.state_dict(), model)
        >>> model.load_state_dict(state_dict)
        <All keys matched successfully>
        >>> len(report.inflated), report.skipped_source
        (53, ['fc.weight', 'fc.bias'])
    """
    core, skipped = _core_2d(state_dict_2d)
    report = InflationReport(skipped_source=skipped)
    target = model.state_dict()
    out: Dict[str, Tensor] = {}
    mismatched: List[str] = []
    for key, current in target.items():
        source = core.get(key)
        if source is None:
            out[key] = current
            report.left_at_init.append(key)
        elif source.shape == current.shape:
            out[key] = source.to(current.dtype)
            report.copied.append(key)
        else:
            inflated = _inflate(source, current.shape)
            if inflated is None:
                mismatched.append(
                    f'{key}: 2D {tuple(source.shape)} vs model {tuple(current.shape)}'
                )
            else:
                out[key] = inflated.to(current.dtype)
                report.inflated.append(key)
    unused = [k for k in core if k not in target]
    missing = [k for k in report.left_at_init if CORE_KEY.match(k) and not OPTIONAL_KEY.search(k)]
    if mismatched or unused or missing:
        raise CheckpointError(_misfit_message(core, target, mismatched, unused, missing))
    return out, report


def _misfit_message(
    core: Mapping[str, Tensor],
    target: Mapping[str, Tensor],
    mismatched: List[str],
    unused: List[str],
    missing: List[str],
) -> str:
    lines = ['the 2D ResNet does not fit the model']
    lines += [f'hint: {hint}' for hint in size_hints(core, target, 'the 2D ResNet')]
    for title, keys in (
        ('shape mismatches', mismatched),
        ('2D keys the model lacks', unused),
        ('model keys the 2D ResNet lacks', missing),
    ):
        if keys:
            lines.append(f'{title} ({len(keys)}): {preview(keys)}')
    return '; '.join(lines)
