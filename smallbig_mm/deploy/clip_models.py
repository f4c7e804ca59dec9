"""Clip classifiers for deployment: clips (N, 3, T, H, W) -> class scores (N, classes).

Two sources, told apart by :func:`build_clip_model`:

* an MMAction2 config (a ``.py`` file): the ``Recognizer3D`` it builds, as
  :class:`RecognizerScores` (backbone, optional neck, head, and the head's
  ``average_clip`` for one clip). The scores are what the recognizer predicts for one
  clip: softmax probabilities for ``average_clips='prob'`` (this package's configs),
  logits for ``'score'`` or None. Imports MMEngine/MMAction2.
* a timm model name (``smallbig_resnet50``, ... or anything ``timm.create_model``
  accepts): the model's logits. Imports timm, not MMEngine.

Both take clips normalised as the model expects (the config's ``data_preprocessor``
mean/std on 0-255 pixels, timm's ImageNet mean/std on 0-1 pixels); the normalisation
stays outside the exported graph and is recorded in :class:`ClipModel`.
"""

import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from torch import Tensor, nn

from ..models.constants import IMAGENET_MEAN, IMAGENET_STD
from ..utils.errors import UsageError, UserError
from ..weights.meta import WEIGHTS_META_KEY, WeightsMeta


class ExportError(UserError, RuntimeError):
    """A deployment step failed in a way its message explains (printed without traceback)."""


@dataclass
class ClipModel:
    """A clip classifier ready to export, and what a user of the exported file must know.

    Attributes:
        module: eval-mode model mapping clips (N, 3, T, H, W) to scores (N, classes).
        scores: ``'softmax'`` (probabilities) or ``'logits'``.
        num_classes: the width of the scores.
        mean, std: per-channel input normalisation the model expects.
        pixel_range: ``'0-255'`` (MMAction2 configs) or ``'0-1'`` (timm).
        source: the config file or timm name it was built from.
        checkpoint: the weights file loaded, or None (initial weights).
        weights_meta: the weights' record (:mod:`smallbig_mm.weights.meta`): for a config,
            its input with the checkpoint's class names and provenance; for a timm name,
            the weights' own record. None without one.
    """

    module: nn.Module
    scores: str
    num_classes: int
    mean: List[float]
    std: List[float]
    pixel_range: str
    source: str
    checkpoint: Optional[str] = None
    weights_meta: Optional[WeightsMeta] = None

    def metadata(self) -> Dict[str, str]:
        """String key/values describing the input and output, for the ONNX file (file
        names only, never a local folder; the record as JSON under ``weights_meta``)."""
        order = self.weights_meta.input.channel_order if self.weights_meta else 'RGB'
        entries = {
            'source': os.path.basename(self.source),
            'checkpoint': os.path.basename(os.path.normpath(self.checkpoint))
            if self.checkpoint
            else '(initial weights)',
            'input': f'clips (N, 3, T, H, W), {order}, normalised: (pixel - mean) / std',
            'pixel_range': self.pixel_range,
            'mean': repr(self.mean),
            'std': repr(self.std),
            'output': f'scores (N, {self.num_classes}): {self.scores}',
        }
        if self.weights_meta is not None:
            entries[WEIGHTS_META_KEY] = self.weights_meta.to_json()
        return entries


class RecognizerScores(nn.Module):
    """An MMAction2 ``Recognizer3D`` as clips -> scores, the way its ``predict`` scores one clip.

    Shares the recognizer's modules (no copy). ``predict`` would reshape its input
    (N, clips, C, T, H, W) to (N * clips, C, T, H, W), run backbone, neck and head, and
    average the clips' scores with ``cls_head.average_clip``; here there is one clip per
    sample, so the average is the identity after the softmax (``'prob'``).

    Args:
        recognizer: a built ``Recognizer3D`` with a classification head.

    Example (with MMAction2):
        ``RecognizerScores(MODELS.build(cfg.model).eval())(clips)`` -> (N, classes).
    """

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.backbone = recognizer.backbone
        self.neck = recognizer.neck if getattr(recognizer, 'with_neck', False) else None
        self.cls_head = recognizer.cls_head

    def forward(self, clips: Tensor) -> Tensor:
        """Maps clips (N, 3, T, H, W) to scores (N, num_classes)."""
        feats = self.backbone(clips)
        if self.neck is not None:
            feats, _ = self.neck(feats)
        scores = self.cls_head(feats)
        return self.cls_head.average_clip(scores, num_segs=1).flatten(1)


def is_config(source: str) -> bool:
    """A config is a ``.py`` path; anything else is a timm model name."""
    return (
        source.endswith('.py')
        or os.path.sep in source
        and not source.startswith(('hf-hub:', 'local-dir:'))
    )


def build_clip_model(
    source: str,
    checkpoint: Optional[str] = None,
    num_classes: Optional[int] = None,
    model_kwargs: Optional[Dict[str, Any]] = None,
) -> ClipModel:
    """Builds the eval-mode clip classifier of a config or timm name, loading ``checkpoint``.

    Args:
        source: an MMAction2 config file (``.py``) or a timm model name.
        checkpoint: a weights file of any SmallBig layout (read by the guarded reader); for
            timm names also a hub folder, URL or ``hf-hub:`` name (the export tool takes
            files and hub folders).
        num_classes: timm names only: the classifier width; default: the checkpoint's
            classifier, else the model's default.
        model_kwargs: timm names only: more arguments of ``timm.create_model``
            (``base_channels``, ``block_types``, ...).

    Raises:
        ExportError: a missing config, an unknown timm name, or a config that is not a
            ``Recognizer3D`` on NCTHW clips.
        CheckpointError: an unreadable checkpoint, or one that does not fit the model.
    """
    if is_config(source):
        if num_classes is not None or model_kwargs:
            raise ExportError(
                '--num-classes and --model-kwargs are for timm names; a config '
                'sets the model itself'
            )
        return _from_config(source, checkpoint)
    return _from_timm(source, checkpoint, num_classes, dict(model_kwargs or {}))


def _from_config(path: str, checkpoint: Optional[str]) -> ClipModel:
    if not os.path.isfile(path):
        raise ExportError(f'config file not found: {path}')
    import warnings

    from ..apis.mmaction_model import (
        ConfigModelError,
        RandomWeightsWarning,
        build_recognizer,
        config_weights_meta,
    )
    from ..mmaction.config_scope import read_config

    model_cfg = read_config(path).get('model')
    if (
        model_cfg is None
        or model_cfg.get('type') != 'Recognizer3D'
        or model_cfg.get('cls_head') is None
    ):
        raise ExportError(
            f'{path}: export needs a Recognizer3D with a cls_head, got model '
            f'type {None if model_cfg is None else model_cfg.get("type")!r}'
        )
    preprocessor = dict(model_cfg.get('data_preprocessor') or {})
    if preprocessor.get('format_shape', 'NCTHW') != 'NCTHW':
        raise ExportError(
            f'{path}: data_preprocessor.format_shape must be NCTHW, got '
            f'{preprocessor.get("format_shape")!r}'
        )
    try:
        with warnings.catch_warnings():  # the caller says when the weights are initial
            warnings.simplefilter('ignore', RandomWeightsWarning)
            recognizer, cfg = build_recognizer(path, checkpoint)
    except ConfigModelError as err:
        raise ExportError(str(err)) from None
    head = recognizer.cls_head
    scores = 'softmax' if head.average_clips == 'prob' else 'logits'
    return ClipModel(
        RecognizerScores(recognizer).eval(),
        scores,
        head.num_classes,
        [float(v) for v in preprocessor.get('mean', (0.0, 0.0, 0.0))],
        [float(v) for v in preprocessor.get('std', (1.0, 1.0, 1.0))],
        '0-255',
        path,
        checkpoint,
        config_weights_meta(cfg, path, checkpoint, recognizer.weights_meta),
    )


def _from_timm(
    name: str, checkpoint: Optional[str], num_classes: Optional[int], kwargs: Dict[str, Any]
) -> ClipModel:
    if importlib.util.find_spec('timm') is None:
        raise ExportError(
            f'{name!r} is not a .py config, and timm names need timm: '
            "pip install 'smallbig-mm[timm]'"
        )
    from ..timm_models.build import UnknownModelError, create_with_weights

    if num_classes is not None:
        kwargs['num_classes'] = num_classes
    try:
        model = create_with_weights(name, checkpoint, finetune=False, **kwargs)
    except UnknownModelError as err:
        raise ExportError(
            f'{name!r} is neither a .py config file nor a timm model name '
            f'(this package registers: {", ".join(err.known)})'
        ) from None
    except UsageError as err:  # an argument the model does not take
        raise ExportError(str(err)) from None
    from ..timm_models.smallbig_timm import SmallBigResNetClassifier

    if not isinstance(model, SmallBigResNetClassifier):
        raise ExportError(
            f'{name!r} builds a {type(model).__name__}, not a SmallBig video '
            'model taking clips (N, 3, T, H, W)'
        )
    cfg = getattr(model, 'pretrained_cfg', {}) or {}
    return ClipModel(
        model.eval(),
        'logits',
        model.num_classes,
        [float(v) for v in cfg.get('mean', IMAGENET_MEAN)],
        [float(v) for v in cfg.get('std', IMAGENET_STD)],
        '0-1',
        name,
        checkpoint,
        getattr(model, 'weights_meta', None),
    )
