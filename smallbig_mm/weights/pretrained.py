"""Loading pretrained weights from any source into a model: inflate 2D, load 3D, fit the head.

The one entry point behind the MMAction2 backbone's ``pretrained=``, the timm models'
``pretrained_cfg_overlay=dict(file=...)`` and ``hubconf.py``'s ``weights=``:
:func:`load_pretrained` locates the file (:mod:`.sources`), reads it with the guarded
reader, inflates a 2D ImageNet ResNet or loads a SmallBig-ResNet checkpoint
through the one fit check (:func:`~.loading.load_state_dict_into`); for fine-tuning a
classifier of another number of classes is dropped, and the log says so.
"""
import logging
from types import SimpleNamespace
from typing import List, Mapping, Optional, Union

from torch import Tensor, nn

from .errors import CheckpointError
from .inflate import inflate_2d_state_dict
from .io import Checkpoint
from .layouts import LAYOUTS_2D, detect_layout, to_timm_state_dict
from .loading import load_state_dict_into
from .sources import fetch_checkpoint

_logger = logging.getLogger(__name__)


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


def load_pretrained(model: nn.Module, source: Union[str, Checkpoint], inflate_2d: bool = True,
                    logger=None, allow_partial: bool = False) -> str:
    """Loads pretrained weights from ``source`` into ``model`` in place.

    Args:
        model: a core :class:`~smallbig_mm.models.SmallBigResNet`, the MMAction2
            backbone or a timm :class:`~smallbig_mm.timm_models.SmallBigNet`.
        source: anything :func:`~.sources.resolve_pretrained` takes (a file, a hub
            folder, ``torchvision://``, ``https://``, ``hf-hub:``, ``timm/``, ``timm:``),
            or a :class:`~.io.Checkpoint` already read.
        inflate_2d: inflate a 2D ImageNet ResNet (4-D conv weights). With False a 2D
            checkpoint is refused with a hint. A 3D checkpoint is always loaded as is.
        logger: anything with ``info(str)`` and ``warning(str)``; receives what was done
            (default: this module's ``logging`` logger for the warnings).
        allow_partial: load what fits and skip the rest (logged) instead of refusing.

    Returns:
        A summary: the file, and the inflation report for a 2D checkpoint or what the
        fit check dropped.

    Raises:
        CheckpointError: one message naming the source and file: not found, not
            downloadable, unsafe, or not fitting the model (the architecture must match;
            only the classifier may differ).

    Example:
        >>> import os, tempfile, torch
        >>> from smallbig_mm.models import SmallBigResNet
        >>> path = os.path.join(tempfile.mkdtemp(), 'w.pth')
        >>> torch.save(SmallBigResNet(depth=23, base_channels=8).state_dict(), path)
        >>> model = SmallBigResNet(depth=23, base_channels=8)
        >>> print(load_pretrained(model, path))  # doctest: +ELLIPSIS
        loaded .../w.pth
    """
    ckpt = source if isinstance(source, Checkpoint) else fetch_checkpoint(source)
    source = ckpt.path if isinstance(source, Checkpoint) else source
    named = ckpt.path if ckpt.path == source else f'{source} ({ckpt.path})'
    notes: List[str] = []  # what the fit check logged as warnings
    if detect_layout(ckpt.state_dict) in LAYOUTS_2D and inflate_2d:
        try:
            state, report = inflate_2d_state_dict(ckpt.state_dict, model)
        except CheckpointError as err:
            raise CheckpointError(f'{named}: {err}') from None
        model.load_state_dict(state)
        report.source = named
        message = report.summary()
    else:
        def note(line: str) -> None:
            notes.append(line)
            (logger or _logger).warning(line)

        load_state_dict_into(model, ckpt.state_dict, logger=SimpleNamespace(warning=note),
                             finetune=True, allow_partial=allow_partial, source=named)
        message = '; '.join([f'loaded {named}', *notes])
    if logger is not None:  # the notes went to logger.warning already: each is logged once
        logger.info(f'loaded {named}' if notes else message)
    return message
