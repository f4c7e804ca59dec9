"""Models for whole-video inference: preprocessing, pooled features and class logits.

A :class:`VideoClassifier` turns a window's frames into crop views, the views into pooled
backbone features (the classifier's input, "pre-logits") and the features into logits.
Splitting the forward pass there lets one pass give both the scores and the features.

- :func:`smallbig_mm.apis.from_config` (:mod:`.mmaction_model`): an MMAction2 config
  (+ checkpoint); the config's own transforms prepare the frames. Needs the MMAction2 stack.
- :func:`from_timm`: a timm model name (+ weights); preprocessing from the model's
  ``pretrained_cfg`` and the weights' record (resize the short side to
  ``size / crop_pct`` as MMAction2's ``Resize`` does, crop, mean/std).
"""

import logging
from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..models.constants import IMAGENET_MEAN, IMAGENET_STD
from ..weights.meta import WeightsMeta, report_overrides

_logger = logging.getLogger(__name__)

CROPS = ('center', 'three')
"""Crop schemes: one center crop, or three crops along the long side (left/center/right,
as MMAction2's ``ThreeCrop``)."""


class VideoClassifier:
    """The interface :func:`~.inference.infer_video` uses.

    Attributes:
        clip_len, interval: the default window (frames per clip, frames between them).
        segments: default to one window of ``clip_len`` segments (segment sampling).
        num_classes: width of the logits.
        device: where the model runs.
        classes: the class names the weights record, or None.
        weights_meta: the weights' record (:mod:`smallbig_mm.weights.meta`), or None.
    """

    clip_len: int = 8
    interval: int = 1
    segments: bool = False
    num_classes: int
    device: torch.device
    classes: Optional[List[str]] = None
    weights_meta: Optional[WeightsMeta] = None

    def preprocess(self, frames: np.ndarray) -> Tensor:
        """RGB frames (T, H, W, 3) uint8 -> views (V, C, T, h, w), ready for the model."""
        raise NotImplementedError

    def features(self, views: Tensor) -> Tensor:
        """Views (N, C, T, h, w) -> pooled backbone features (N, D)."""
        raise NotImplementedError

    def logits(self, features: Tensor) -> Tensor:
        """Pooled features (N, D) -> class logits (N, num_classes)."""
        raise NotImplementedError


def crop_views(clip: Tensor, size: Tuple[int, int], crop: str) -> Tensor:
    """Crops (C, T, H, W) into views (V, C, T, h, w): V=1 center, V=3 along the long side.

    ``size`` is (h, w). Three crops are placed like MMAction2's ``ThreeCrop``: at the
    start, end and middle of the longer side, centred on the other.

    Example:
        >>> crop_views(torch.zeros(3, 2, 8, 12), (8, 8), 'three').shape
        torch.Size([3, 3, 2, 8, 8])
    """
    height, width = clip.shape[-2:]
    h, w = size
    if h > height or w > width:
        raise ValueError(f'crop {h}x{w} is larger than the frames ({height}x{width})')
    top, left = (height - h) // 2, (width - w) // 2
    if crop == 'center':
        offsets = [(top, left)]
    elif crop == 'three':
        if width - w >= height - h:  # MMAction2's order: left, right, middle
            offsets = [(top, 0), (top, 2 * left), (top, left)]
        else:
            offsets = [(0, left), (2 * top, left), (top, left)]
    else:
        raise ValueError(f'crop must be one of {CROPS}, got {crop!r}')
    return torch.stack([clip[..., y : y + h, x : x + w] for y, x in offsets])


def resize_short_side(frames: np.ndarray, short: int, at_least: int = 1) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 with the short side resized to ``short``, as MMAction2's
    ``Resize(scale=(-1, short))`` does it (OpenCV bilinear on uint8, sizes rounded half up),
    so that both front ends see the same pixels; each side at least ``at_least``.

    Example:
        >>> resize_short_side(np.zeros((2, 240, 320, 3), np.uint8), 64).shape
        (2, 64, 85, 3)
    """
    import cv2

    height, width = frames.shape[1:3]
    scale = short / min(height, width)
    new_h = max(at_least, int(height * scale + 0.5))
    new_w = max(at_least, int(width * scale + 0.5))
    if (new_h, new_w) == (height, width):
        return frames
    return np.stack(
        [
            cv2.resize(np.ascontiguousarray(f), (new_w, new_h), interpolation=cv2.INTER_LINEAR)
            for f in frames
        ]
    )


class TimmVideoClassifier(VideoClassifier):
    """A timm video model (``forward_features`` / ``forward_head``) with plain preprocessing.

    The model's ``pretrained_cfg`` gives the crop size, the resize (``size / crop_pct``,
    done as MMAction2's ``Resize``: :func:`resize_short_side`) and the mean and std; its ``weights_meta`` (the weights' record, see
    :func:`~smallbig_mm.timm_models.build.create_with_weights`) the channel order and the
    defaults of the window and crop.

    Args:
        model: the timm model, in eval mode.
        crop: ``'center'`` or ``'three'``; default: the record's test crops (3: three),
            else center.
        clip_len, interval: the default window; default: the record's, else the model's
            ``num_frames`` (8) and 1.
        size: crop size (default: ``pretrained_cfg['input_size']``).
        source: the weights, for the line that reports settings differing from the record.
    """

    def __init__(
        self,
        model: nn.Module,
        crop: Optional[str] = None,
        clip_len: Optional[int] = None,
        interval: Optional[int] = None,
        size: Optional[int] = None,
        source: str = 'the weights',
    ) -> None:
        cfg = dict(getattr(model, 'pretrained_cfg', None) or {})
        meta: Optional[WeightsMeta] = getattr(model, 'weights_meta', None)
        spec = meta.input if meta is not None else None
        recorded_size = int(cfg.get('input_size', (3, 224, 224))[-1])
        chosen = report_overrides(
            source,
            {
                'clip_len': (clip_len, spec.num_frames if spec else None),
                'interval': (interval, spec.frame_interval if spec else None),
                'crop': (crop, ('three' if spec.test_crops == 3 else 'center') if spec else None),
                'size': (size, recorded_size if spec else None),
            },
            _logger,
        )
        crop = chosen['crop'] or 'center'
        if crop not in CROPS:
            raise ValueError(f'crop must be one of {CROPS}, got {crop!r}')
        self.model = model.eval()
        self.crop = crop
        self.clip_len = int(chosen['clip_len'] or getattr(model, 'num_frames', None) or 8)
        self.interval = int(chosen['interval'] or 1)
        self.segments = bool(spec and spec.sampling == 'uniform')
        self.size = int(chosen['size'] or recorded_size)
        self.resize = int(round(self.size / float(cfg.get('crop_pct', 1.0))))
        self.bgr = bool(spec and spec.channel_order == 'BGR')
        self.mean = torch.tensor(cfg.get('mean', IMAGENET_MEAN)).view(3, 1, 1, 1)
        self.std = torch.tensor(cfg.get('std', IMAGENET_STD)).view(3, 1, 1, 1)
        self.num_classes = int(model.num_classes)
        self.classes = list(meta.classes) if meta is not None and meta.classes else None
        self.weights_meta = meta
        self.device = next(model.parameters()).device

    def preprocess(self, frames: np.ndarray) -> Tensor:
        frames = resize_short_side(frames, self.resize, self.size)
        clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float()
        if self.bgr:
            clip = clip.flip(0)
        clip = (clip / 255.0 - self.mean) / self.std
        return crop_views(clip, (self.size, self.size), self.crop)

    def features(self, views: Tensor) -> Tensor:
        return self.model.forward_head(self.model.forward_features(views), pre_logits=True)

    def logits(self, features: Tensor) -> Tensor:
        return self.model.get_classifier()(features)


def from_timm(
    name: str,
    weights: Optional[str] = None,
    crop: Optional[str] = None,
    clip_len: Optional[int] = None,
    interval: Optional[int] = None,
    device: str = 'cpu',
    **model_args,
) -> TimmVideoClassifier:
    """A timm model by name, with weights (read by the guarded reader), for inference.

    The weights' record (hub folder ``config.json``, checkpoint ``meta``) sets the
    preprocessing (mean, std, channel order, resize, crop size) and the defaults of
    ``crop``, ``clip_len`` and ``interval``, so the scores are those of the config front
    end; an explicit setting that differs is kept and reported in one log line.

    Args:
        name: a timm model name, e.g. ``'smallbig_resnet50'``.
        weights: a checkpoint file of any SmallBig layout, a hub folder, an ``https://``
            URL or ``hf-hub:ORG/NAME``; it must fit the model exactly (classifier
            included). ``None``: random weights (only for trying it out).
        crop, clip_len, interval: as for :class:`TimmVideoClassifier`.
        model_args: passed to ``timm.create_model`` (e.g. ``depth``); ``num_classes``
            defaults to the checkpoint's classifier classes.

    Raises:
        smallbig_mm.utils.errors.UsageError: an unknown name or model argument.
        smallbig_mm.weights.CheckpointError: the weights are missing, unreadable or do
            not fit.
    """
    from ..timm_models.build import create_with_weights

    model = create_with_weights(name, weights, finetune=False, **model_args)
    return TimmVideoClassifier(
        model.to(device),
        crop,
        clip_len,
        interval,
        source=str(weights) if weights is not None else name,
    )
