"""The fit step of the weights chain: does a checkpoint's state dict fit a model, and how.

:func:`fit_state_dict` is the one check every route that puts weights into a model runs
before anything is computed with them (:mod:`.pipeline` chains it; MMEngine's loading
path calls it through :mod:`smallbig_mm.mmaction.patches.checkpoint_fit`). It converts
the checkpoint's layout to the model's (a core network, a timm model with ``fc``, an
MMAction2 recognizer with ``backbone.`` / ``cls_head.``), then compares keys, shapes and
kinds of tensor under a policy (:data:`POLICIES`):

- ``'exact'``: every model key, with its shape and kind (floating point, integer, bool),
  and nothing else. The one exception: a model without a classifier (a backbone, a
  recognizer whose head was replaced by a feature head) drops the checkpoint's classifier
  and names it;
- ``'finetune'``: also, a classifier for another number of classes (or none at all) is
  replaced by the model's own fresh one, named;
- ``'partial'`` (only when asked): whatever fits loads, the rest is named.

Anything else raises a one-line :class:`CheckpointError`: the file, the counts of missing,
unexpected, mis-shaped and mis-typed keys with a few examples, and hints (another depth
or width, big views or extra units on one side, another class count, a 2D ResNet that
wants ``pretrained2d=True``). Tensors holding NaN or Inf are refused under every policy.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor, nn

from ..utils.text import preview
from .errors import CheckpointError
from .layouts import (
    CLASSIFIER_KEYS,
    LAYOUTS,
    LAYOUTS_2D,
    detect_layout,
    from_timm_state_dict,
    size_hints,
    to_timm_state_dict,
)

HEAD_KEYS = CLASSIFIER_KEYS + ('cls_head.fc_cls.weight', 'cls_head.fc_cls.bias')
"""Classifier keys of the timm / core and MMAction2 recognizer layouts: what fine-tuning drops."""
POLICIES = ('exact', 'finetune', 'partial')
"""The fit policies: exact; fine-tune (a classifier of another class count is replaced);
partial (load what fits, only when asked)."""
_HEAD_PREFIXES = ('cls_head.', 'fc.', 'module.fc.')
EXAMPLES = 3
"""Keys shown per category in a one-line error."""


def unwrap_model(model: nn.Module) -> nn.Module:
    """``model`` without (Distributed)DataParallel wrappers."""
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model


def layout_or_none(state_dict: Mapping[str, Tensor]) -> Optional[str]:
    """The :func:`~.layouts.detect_layout` of ``state_dict``, None where it has none."""
    try:
        return detect_layout(state_dict)
    except CheckpointError:
        return None


def _strip_module(state_dict: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    if state_dict and all(k.startswith('module.') for k in state_dict):
        return {k[len('module.') :]: v for k, v in state_dict.items()}
    return dict(state_dict)


def listing(title: str, items: List[str], limit: int = EXAMPLES) -> str:
    """``'title (N): a, b, c, ...'``, the one formatter of key lists.

    Example:
        >>> listing('missing', ['a', 'b', 'c', 'd'], limit=2)
        'missing (4): a, b, ...'
    """
    return f'{title} ({len(items)}): {preview(items, limit, total=False)}'


def compare_state_dicts(
    ckpt: Mapping[str, Tensor], model: Mapping[str, Tensor]
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
    mismatched = [
        f'{k}: checkpoint {tuple(ckpt[k].shape)} vs model {tuple(model[k].shape)}'
        for k in model
        if k in ckpt and ckpt[k].shape != model[k].shape
    ]
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
            hints.append(
                f'the model has {name} the checkpoint lacks (a baseline checkpoint?): '
                f'check {option}'
            )
    temporal = [
        k
        for k in ckpt
        if k in model
        and ckpt[k].ndim == 5
        and model[k].ndim == 5
        and ckpt[k].shape[2] != model[k].shape[2]
    ]
    if temporal:
        hints.append(
            f'temporal kernel sizes differ ({temporal[0]}): 3D and SmallBig/2D blocks '
            'do not match, check block_types'
        )
    ckpt_fc, model_fc = ckpt.get('fc.weight'), model.get('fc.weight')
    if ckpt_fc is not None and model_fc is not None and ckpt_fc.shape[1:] != model_fc.shape[1:]:
        hints.append(
            f'the classifier takes {ckpt_fc.shape[1]} features in the checkpoint and '
            f'{model_fc.shape[1]} in the model: the head in_channels must equal the '
            'backbone width (num_features)'
        )
    elif ckpt_fc is not None and model_fc is not None and ckpt_fc.shape != model_fc.shape:
        hints.append(
            f'the classifier has {ckpt_fc.shape[0]} classes in the checkpoint and '
            f'{model_fc.shape[0]} in the model: set num_classes={ckpt_fc.shape[0]} '
            '(a config: model.cls_head.num_classes) to use it as it is, or fine-tune '
            "(load_from= in training, policy='finetune') to start a fresh classifier"
        )
    elif model_fc is not None and ckpt_fc is None:
        hints.append(
            'the checkpoint has no classifier (a backbone checkpoint): fine-tuning '
            "(load_from= in training, policy='finetune') starts a fresh one"
        )
    return hints


def _kind(tensor: Tensor) -> str:
    if tensor.is_floating_point():
        return 'floating point'
    if tensor.is_complex():
        return 'complex'
    return 'bool' if tensor.dtype == torch.bool else 'integer'


def kind_mismatches(ckpt: Mapping[str, Tensor], model: Mapping[str, Tensor]) -> List[str]:
    """Keys whose tensors are of another kind than the model's slot (e.g. integers in a
    float parameter): ``'key: checkpoint torch.int64 vs model torch.float32'`` entries.

    Example:
        >>> import torch
        >>> kind_mismatches({'w': torch.zeros(2, dtype=torch.int64), 'b': torch.zeros(2).half()},
        ...                 {'w': torch.zeros(2), 'b': torch.zeros(2)})
        ['w: checkpoint torch.int64 vs model torch.float32']
    """
    return [
        f'{k}: checkpoint {ckpt[k].dtype} vs model {model[k].dtype}'
        for k in model
        if k in ckpt and ckpt[k].shape == model[k].shape and _kind(ckpt[k]) != _kind(model[k])
    ]


def non_finite_keys(state_dict: Mapping[str, Tensor]) -> List[str]:
    """Keys of floating-point tensors holding NaN or Inf.

    Example:
        >>> import torch
        >>> non_finite_keys({'a': torch.tensor([1., float('nan')]), 'b': torch.ones(1)})
        ['a']
    """
    return [
        k
        for k, v in state_dict.items()
        if (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all())
    ]


def check_finite(state_dict: Mapping[str, Tensor], source: str) -> None:
    """Refuses (one line) weights holding NaN or Inf, naming the first few tensors.

    Raises:
        CheckpointError: ``'<source>: N tensors hold NaN or Inf values (...)'``.
    """
    non_finite = non_finite_keys(state_dict)
    if non_finite:
        raise CheckpointError(
            f'{source}: {len(non_finite)} tensors hold NaN or Inf values '
            f'({preview(non_finite, EXAMPLES)}): the run that saved it diverged, or the file '
            'is corrupt; use an earlier checkpoint'
        )


@dataclass
class Fit:
    """How a checkpoint's state dict fits a model (see :func:`check_fit`).

    Attributes:
        state_dict: the checkpoint converted to the model's layout (after a fine-tune head
            replacement, with the model's own classifier; after :func:`fit_state_dict`,
            exactly what is to be loaded).
        missing, unexpected, mismatched: keys the checkpoint lacks, keys the model lacks,
            ``'key: checkpoint (shape) vs model (shape)'`` entries.
        retyped: ``'key: checkpoint dtype vs model dtype'`` entries of another kind
            (integers or bools in a float slot, floats in an integer one).
        dropped_head: classifier keys replaced by the model's own (``'finetune'``).
        headless: the checkpoint's classifier keys, dropped because the model has no
            classifier (a backbone, a recognizer with a feature head).
        hints: likely causes of a mismatch, each a short sentence.
        layout, model_layout: the detected layouts (None: not a SmallBig/ResNet layout).
        policy: the policy it was fitted under (:data:`POLICIES`).
    """

    state_dict: Dict[str, Tensor]
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)
    retyped: List[str] = field(default_factory=list)
    dropped_head: List[str] = field(default_factory=list)
    headless: List[str] = field(default_factory=list)
    hints: List[str] = field(default_factory=list)
    layout: Optional[str] = None
    model_layout: Optional[str] = None
    policy: str = 'exact'

    @property
    def exact(self) -> bool:
        """True when every model key is given with its shape and kind and nothing else is."""
        return not (self.missing or self.unexpected or self.mismatched or self.retyped)

    def problems(self) -> str:
        """The counts and examples, on one line."""
        parts = [
            listing(title, keys)
            for title, keys in (
                ('missing in the checkpoint', self.missing),
                ('unexpected in the checkpoint', self.unexpected),
                ('shape mismatches', self.mismatched),
                ('tensors of another kind than their slot', self.retyped),
            )
            if keys
        ]
        return '; '.join(parts)

    def notes(self) -> List[str]:
        """What was dropped or skipped, one short clause each (empty for an exact fit)."""
        notes = []
        if self.headless:
            notes.append(
                f"the model has no classifier: dropped the checkpoint's "
                f'({", ".join(self.headless)})'
            )
        if self.dropped_head:
            notes.append(
                f"fine-tuning: the checkpoint's classifier was dropped "
                f'({", ".join(self.dropped_head)}: another number of classes, or '
                'none); the model keeps its freshly initialised classifier'
            )
        if not self.exact:
            notes.append(f'partial load (asked for): skipped {self.problems()}')
        return notes

    def error(self, source: str, model_name: str) -> CheckpointError:
        """The one-line error naming ``source``, the counts, examples and hints."""
        layouts = (
            f', checkpoint layout {self.layout!r}'
            if self.layout and self.layout != self.model_layout
            else ''
        )
        hints = ''.join(f'; hint: {hint}' for hint in self.hints)
        return CheckpointError(
            f'{source}: the checkpoint does not fit the model '
            f'({model_name}{layouts}): {self.problems()}{hints}'
        )


def _classifier_of(state_dict: Mapping[str, Tensor], layout: Optional[str]) -> List[str]:
    """The classifier keys of a state dict of a SmallBig layout, as the checkpoint names them."""
    if layout == 'mmaction':
        return [k for k in state_dict if k.startswith('cls_head.')]
    return [k for k in state_dict if k.startswith(_HEAD_PREFIXES)]


def check_fit(
    state_dict: Mapping[str, Tensor], model_state: Mapping[str, Tensor], finetune: bool = False
) -> Fit:
    """Converts ``state_dict`` to ``model_state``'s layout and compares keys, shapes, kinds.

    SmallBig layouts (:data:`~.layouts.LAYOUTS`) are converted to the model's; other
    state dicts are compared as they are (after stripping a ``module.`` prefix). Missing
    ``num_batches_tracked`` counters take the model's values. A model without any
    classifier (no ``fc.*`` / ``cls_head.*`` keys) drops the checkpoint's (``headless``).

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
    layout, model_layout = layout_or_none(state_dict), layout_or_none(model_state)
    fit = Fit(_strip_module(state_dict), layout=layout, model_layout=model_layout)
    model_has_head = any(k.startswith(_HEAD_PREFIXES) for k in model_state)
    if layout in LAYOUTS_2D and model_layout not in LAYOUTS_2D:
        fit.hints.append(
            f'this looks like a 2D ResNet checkpoint ({layout}: 4-D conv weights): '
            'use pretrained2d=True (backbone pretrained=...), or '
            'load_weights(..., inflate_2d=True) to inflate it'
        )
    elif layout is None and model_layout is not None:
        try:
            detect_layout(state_dict)
        except CheckpointError as err:
            fit.hints.append(str(err))
    elif layout in LAYOUTS and model_layout in LAYOUTS:
        try:
            ckpt_timm = to_timm_state_dict(state_dict, layout)
            if not model_has_head:
                fit.headless = _classifier_of(state_dict, layout)
            fit.state_dict = from_timm_state_dict(ckpt_timm, model_layout)
            model_timm = to_timm_state_dict(model_state, model_layout)
            if model_layout == 'mmaction_backbone':
                ckpt_timm = {k: v for k, v in ckpt_timm.items() if k not in CLASSIFIER_KEYS}
            fit.hints += _hints(ckpt_timm, model_timm)
        except CheckpointError as err:
            fit.hints.append(str(err))
    state = fit.state_dict
    if not model_has_head:  # a feature head or none: the checkpoint's classifier goes
        extra = [k for k in state if k.startswith(_HEAD_PREFIXES)]
        fit.headless += [k for k in extra if k not in fit.headless]
        for key in extra:
            del state[key]
    for key, value in model_state.items():
        if key not in state and key.endswith('num_batches_tracked'):
            state[key] = value
    if finetune:
        for key in HEAD_KEYS:
            if key in model_state and (
                key not in state
                or (
                    state[key].shape != model_state[key].shape
                    and state[key].shape[1:] == model_state[key].shape[1:]
                )
            ):
                state[key] = model_state[key]
                fit.dropped_head.append(key)
        if fit.dropped_head:  # the class-count hints no longer apply
            fit.hints = [h for h in fit.hints if 'classifier' not in h]
    fit.missing, fit.unexpected, fit.mismatched = compare_state_dicts(state, model_state)
    fit.retyped = kind_mismatches(state, model_state)
    return fit


def fit_state_dict(
    state_dict: Mapping[str, Tensor],
    model_state: Mapping[str, Tensor],
    source: str,
    model_name: str,
    policy: str = 'exact',
) -> Fit:
    """Fits a checkpoint's state dict to a model under ``policy``, or raises one line.

    Args:
        state_dict: the checkpoint's state dict, in any layout.
        model_state: ``model.state_dict()``.
        source: the file (or a description) for messages.
        model_name: the model for messages, e.g. ``'Recognizer3D'``.
        policy: ``'exact'``, ``'finetune'`` (a classifier for another class count is
            replaced by the model's own) or ``'partial'`` (what fits loads, the rest is
            skipped; only when the user asked for it).

    Returns:
        The :class:`Fit`; its ``state_dict`` is what to load (all of the model's keys, or
        under ``'partial'`` those that fit) and :meth:`Fit.notes` says what was dropped.

    Raises:
        CheckpointError: ``'<source>: the checkpoint does not fit the model (...): missing
            in the checkpoint (N): ...; hint: ...'``, or tensors holding NaN or Inf.

    Example:
        >>> import torch
        >>> model = {'w': torch.zeros(2)}
        >>> fit_state_dict({'w': torch.ones(2)}, model, 'a.pth', 'Net').state_dict['w']
        tensor([1., 1.])
        >>> fit_state_dict({'v': torch.ones(2)}, model, 'a.pth', 'Net')
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.errors.CheckpointError: a.pth: the checkpoint does not fit the model (Net): missing in the checkpoint (1): w; unexpected in the checkpoint (1): v
    """
    if policy not in POLICIES:
        raise ValueError(f'policy must be one of {POLICIES}, got {policy!r}')
    fit = check_fit(state_dict, model_state, finetune=policy == 'finetune')
    fit.policy = policy
    if not fit.exact and policy != 'partial':
        raise fit.error(source, model_name)
    if not fit.exact:
        retyped = {entry.split(':', 1)[0] for entry in fit.retyped}
        fit.state_dict = {
            k: v
            for k, v in fit.state_dict.items()
            if k in model_state and v.shape == model_state[k].shape and k not in retyped
        }
    check_finite(fit.state_dict, source)
    return fit
