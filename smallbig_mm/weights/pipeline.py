"""The one chain that puts weights into a model: find, read, convert or inflate, fit, load, log.

Every route goes through it (docs/weights.md draws them):

1. find the source (:func:`~.sources.resolve_pretrained`: a file, a hub folder, a URL,
   ``torchvision://``, ``hf-hub:``, ``timm/``, ``timm:``);
2. read it through the guarded reader (:func:`~.io.read_checkpoint`);
3. convert its layout to the model's (:mod:`.layouts`), or inflate 2D ImageNet weights
   (:func:`~.inflate.inflate_2d_state_dict`) when asked;
4. fit it under a policy (:func:`~.loading.fit_state_dict`: exact, fine-tune or partial;
   NaN/Inf and tensors of another kind than their slot are refused);
5. load it (``model.load_state_dict``);
6. log one line: what was loaded from where, and what was dropped (:class:`LoadReport`).

:func:`load_weights` runs all six. :func:`fit_weights` runs steps 3 and 4 for loaders
that read and load themselves: timm's ``pretrained=True`` (its filter function) and
MMEngine's runner (:mod:`smallbig_mm.mmaction.patches.checkpoint_fit`).
"""

import logging
import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple, Union

from torch import Tensor, nn

from .errors import CheckpointError
from .inflate import InflationReport, inflate_2d_state_dict
from .io import Checkpoint
from .layouts import LAYOUTS_2D
from .loading import check_finite, fit_state_dict, layout_or_none, unwrap_model
from .sources import fetch_checkpoint

_logger = logging.getLogger('smallbig_mm.weights')

Weights = Union[str, os.PathLike, Checkpoint, Mapping[str, Tensor]]
"""What :func:`load_weights` takes: a source, a checkpoint already read, or a state dict."""


@dataclass
class LoadReport:
    """What one pass through the chain did.

    Attributes:
        source: where the weights came from (the source as given, and the file).
        model: the model's class or timm name.
        loaded: tensors loaded; total: tensors of the model.
        notes: what was dropped, skipped or inflated, one clause each.
        inflation: the inflation report, for 2D weights.
    """

    source: str
    model: str
    loaded: int
    total: int
    notes: List[str] = field(default_factory=list)
    inflation: Optional[InflationReport] = None

    @property
    def level(self) -> int:
        """``logging.WARNING`` when something of the checkpoint was dropped, else INFO."""
        dropped = [n for n in self.notes if not n.startswith('inflated')]
        return logging.WARNING if dropped else logging.INFO

    def line(self) -> str:
        """The one log line.

        Example:
            >>> LoadReport('k400.pth', 'Recognizer3D', 318, 318).line()
            'loaded k400.pth into Recognizer3D: 318 of 318 tensors'
        """
        return '; '.join(
            [
                f'loaded {self.source} into {self.model}: {self.loaded} of {self.total} tensors',
                *self.notes,
            ]
        )


def fit_weights(
    state_dict: Mapping[str, Tensor],
    model: nn.Module,
    *,
    policy: str = 'exact',
    inflate_2d: bool = False,
    source: str = 'the checkpoint',
    model_name: Optional[str] = None,
) -> Tuple[Dict[str, Tensor], LoadReport]:
    """Steps 3 and 4 of the chain: converts (or inflates) and fits ``state_dict`` to ``model``.

    Args:
        state_dict: the checkpoint's state dict, in any layout.
        model: the model to load into (possibly wrapped in DataParallel).
        policy: ``'exact'``, ``'finetune'`` or ``'partial'`` (:data:`~.loading.POLICIES`).
        inflate_2d: inflate a 2D ImageNet ResNet; with False it is refused with a hint.
        source: the file, for messages.
        model_name: the model's name for messages (default: its class name).

    Returns:
        ``(state_dict, report)``: what to load (``strict`` unless ``policy='partial'``) and
        the :class:`LoadReport` to log once it is loaded.

    Raises:
        CheckpointError: one line: the weights do not fit, hold NaN/Inf, or a tensor is of
            another kind than its slot.

    Example:
        >>> from smallbig_mm.models import SmallBigResNet
        >>> model = SmallBigResNet(depth=23, base_channels=8)
        >>> state, report = fit_weights(model.state_dict(), model, source='w.pth')
        >>> report.line()
        'loaded w.pth into SmallBigResNet: 246 of 246 tensors'
    """
    model = unwrap_model(model)
    name = model_name or type(model).__name__
    target = model.state_dict()
    if inflate_2d and layout_or_none(state_dict) in LAYOUTS_2D:
        try:
            state, inflation = inflate_2d_state_dict(state_dict, model)
        except CheckpointError as err:
            raise CheckpointError(f'{source}: {err}') from None
        check_finite(state, source)
        inflation.source = source
        return state, LoadReport(
            source, name, len(state), len(target), [inflation.line()], inflation
        )
    fit = fit_state_dict(state_dict, target, source, name, policy)
    return fit.state_dict, LoadReport(source, name, len(fit.state_dict), len(target), fit.notes())


def log_report(report: LoadReport, logger=None) -> None:
    """Logs :meth:`LoadReport.line` at :attr:`LoadReport.level` to ``logger`` (anything with
    ``info`` and ``warning``; default: the ``smallbig_mm.weights`` logger)."""
    logger = logger or _logger
    (logger.warning if report.level >= logging.WARNING else logger.info)(report.line())


def _read(weights: Weights, source: Optional[str]) -> Tuple[Dict[str, Tensor], str]:
    """Steps 1 and 2: the state dict and the name to report it under."""
    if isinstance(weights, Mapping):
        return dict(weights), source or 'the state dict'
    if isinstance(weights, Checkpoint):
        return weights.state_dict, source or weights.path
    given = os.fspath(weights)
    ckpt = fetch_checkpoint(given)
    return ckpt.state_dict, source or (
        ckpt.path if ckpt.path == given else f'{given} ({ckpt.path})'
    )


def _strip_prefix(state_dict: Mapping[str, Tensor], prefix: str, source: str) -> Dict[str, Tensor]:
    state = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not state:
        raise CheckpointError(
            f'{source}: no key starts with the prefix {prefix!r} (init_cfg.prefix); check it'
        )
    return state


def load_weights(
    model: nn.Module,
    weights: Weights,
    *,
    policy: str = 'exact',
    inflate_2d: bool = False,
    prefix: Optional[str] = None,
    source: Optional[str] = None,
    logger=None,
) -> LoadReport:
    """The whole chain: find, read, convert or inflate, fit, load ``weights`` into ``model``, log.

    Args:
        model: any model (a core network, the MMAction2 backbone, a timm model, an
            MMAction2 recognizer), possibly wrapped in (Distributed)DataParallel.
        weights: a source :func:`~.sources.resolve_pretrained` takes (a file of any
            layout, a hub folder, ``torchvision://``, ``https://``, ``hf-hub:``, ``timm/``,
            ``timm:``), a :class:`~.io.Checkpoint` already read, or a state dict.
        policy: ``'exact'`` (default; a model without a classifier drops the checkpoint's
            and names it), ``'finetune'`` (a classifier for another class count is
            replaced by the model's fresh one, named) or ``'partial'`` (load what fits,
            name the rest; only when the user asked for it).
        inflate_2d: inflate a 2D ImageNet ResNet; with False it is refused with a hint.
        prefix: keep only the keys under this prefix, without it (``init_cfg`` Pretrained's
            ``prefix='backbone.'``).
        source: the name to report (default: the source and its file).
        logger: receives the one line (``info`` / ``warning``).

    Returns:
        The :class:`LoadReport` (already logged).

    Raises:
        CheckpointError: one line naming the source: not found, not downloadable, unsafe,
            unreadable, or not fitting the model under ``policy``.

    Example:
        >>> import os, tempfile, torch
        >>> from smallbig_mm.models import SmallBigResNet
        >>> path = os.path.join(tempfile.mkdtemp(), 'w.pth')
        >>> torch.save({'state_dict': SmallBigResNet(depth=23, base_channels=8).state_dict()},
        ...            path)
        >>> report = load_weights(SmallBigResNet(depth=23, base_channels=8), path)
        >>> report.loaded, report.notes
        (246, [])
    """
    state, named = _read(weights, source)
    if prefix:
        state = _strip_prefix(state, prefix, named)
    fitted, report = fit_weights(state, model, policy=policy, inflate_2d=inflate_2d, source=named)
    unwrap_model(model).load_state_dict(fitted, strict=policy != 'partial')
    log_report(report, logger)
    return report
