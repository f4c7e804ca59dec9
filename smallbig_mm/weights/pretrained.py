"""Loading pretrained weights from any source into a model: inflate 2D, load 3D, fit the head.

The one entry point behind the MMAction2 backbone's ``pretrained=``, the timm models'
``pretrained_cfg_overlay=dict(file=...)`` and ``hubconf.py``'s ``weights=``:
:func:`load_pretrained` locates the file (:mod:`.sources`), reads it with the guarded
reader, inflates a 2D ImageNet ResNet or loads a SmallBig-ResNet checkpoint
(:func:`~.loading.load_weights`, strict), and for fine-tuning leaves the model's own
classifier in place when the checkpoint's has another number of classes, saying so.
"""
from typing import Dict, List, Mapping, Optional, Tuple, Union

from torch import Tensor, nn

from .errors import CheckpointError
from .inflate import inflate_2d_state_dict
from .io import Checkpoint
from .layouts import CLASSIFIER_KEYS, LAYOUTS_2D, detect_layout, to_timm_state_dict
from .loading import load_weights
from .sources import fetch_checkpoint


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


def fit_classifier(state_dict: Mapping[str, Tensor], model: nn.Module
                   ) -> Tuple[Dict[str, Tensor], List[str], str]:
    """Replaces a checkpoint classifier of another size (or one the model lacks) by the model's.

    Args:
        state_dict: a 3D SmallBig-ResNet checkpoint, any layout.
        model: the model it goes into (core, backbone or timm model).

    Returns:
        ``(state_dict in timm layout, dropped checkpoint keys, a sentence saying why)``;
        nothing dropped and ``''`` when the classifiers agree.
    """
    ckpt = dict(to_timm_state_dict(state_dict, detect_layout(state_dict)))
    target = model.state_dict()
    target_timm = to_timm_state_dict(target, detect_layout(target))
    present = [k for k in CLASSIFIER_KEYS if k in ckpt]
    if not present:
        if all(k in target_timm for k in CLASSIFIER_KEYS):  # a backbone checkpoint
            ckpt.update({k: target_timm[k] for k in CLASSIFIER_KEYS})
        return ckpt, [], ''
    if not all(k in target_timm for k in CLASSIFIER_KEYS):
        dropped = present
        why = f'the model has no classifier ({type(model).__name__}); the checkpoint\'s ' \
              f'{ckpt["fc.weight"].shape[0]}-class classifier is not used'
    elif any(ckpt[k].shape != target_timm[k].shape for k in present):
        dropped = present
        why = (f'the checkpoint\'s classifier has {ckpt["fc.weight"].shape[0]} classes and the '
               f'model\'s {target_timm["fc.weight"].shape[0]}: the model keeps its freshly '
               'initialised classifier (fine-tuning)')
    else:
        return ckpt, [], ''
    for key in dropped:
        del ckpt[key]
        if key in target_timm:
            ckpt[key] = target_timm[key]
    return ckpt, dropped, why


def load_pretrained(model: nn.Module, source: Union[str, Checkpoint], inflate_2d: bool = True,
                    logger=None) -> str:
    """Loads pretrained weights from ``source`` into ``model`` in place.

    Args:
        model: a core :class:`~smallbig_mm.models.SmallBigResNet`, the MMAction2
            backbone or a timm :class:`~smallbig_mm.timm_models.SmallBigNet`.
        source: anything :func:`~.sources.resolve_pretrained` takes (a file, a hub
            folder, ``torchvision://``, ``https://``, ``hf-hub:``, ``timm/``, ``timm:``),
            or a :class:`~.io.Checkpoint` already read.
        inflate_2d: inflate a 2D ImageNet ResNet (4-D conv weights). With False a 2D
            checkpoint is refused with a hint. A 3D checkpoint is always loaded as is.
        logger: anything with ``info(str)``; receives what was done.

    Returns:
        A summary: the file, and the inflation report or the classifier keys dropped.

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
    try:
        layout = detect_layout(ckpt.state_dict)
        if layout in LAYOUTS_2D and inflate_2d:
            state, report = inflate_2d_state_dict(ckpt.state_dict, model)
            model.load_state_dict(state)
            report.source = named
            message = report.summary()
        else:
            state, dropped, why = (ckpt.state_dict, [], '') if layout in LAYOUTS_2D \
                else fit_classifier(ckpt.state_dict, model)
            load_weights(model, state, strict=True)
            message = f'loaded {named}' + (
                f'; dropped {", ".join(dropped)}: {why}' if dropped else '')
    except CheckpointError as err:
        raise CheckpointError(f'{named}: {err}') from None
    if logger is not None:
        logger.info(message)
    return message
