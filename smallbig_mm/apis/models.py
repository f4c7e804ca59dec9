"""Models for whole-video inference: preprocessing, pooled features and class logits.

A :class:`VideoClassifier` turns a window's frames into crop views, the views into pooled
backbone features (the classifier's input, "pre-logits") and the features into logits.
Splitting the forward pass there lets one pass give both the scores and the features.

- :func:`from_config`: an MMAction2 config (+ checkpoint); the config's own transforms
  prepare the frames. Needs the MMAction2 stack (see :mod:`.mmaction_model`).
- :func:`from_timm`: a timm model name (+ weights); plain-torch preprocessing from the
  model's ``pretrained_cfg`` (resize the short side to ``size / crop_pct``, crop, mean/std).
"""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.constants import IMAGENET_MEAN, IMAGENET_STD

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
    """
    clip_len: int = 8
    interval: int = 1
    segments: bool = False
    num_classes: int
    device: torch.device

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
    return torch.stack([clip[..., y:y + h, x:x + w] for y, x in offsets])


class TimmVideoClassifier(VideoClassifier):
    """A timm video model (``forward_features`` / ``forward_head``) with plain preprocessing.

    Args:
        model: the timm model, in eval mode.
        crop: ``'center'`` or ``'three'``.
        clip_len, interval: the default window.
        size: crop size (default: ``pretrained_cfg['input_size']``).
    """

    def __init__(self, model: nn.Module, crop: str = 'center', clip_len: int = 8,
                 interval: int = 1, size: Optional[int] = None) -> None:
        if crop not in CROPS:
            raise ValueError(f'crop must be one of {CROPS}, got {crop!r}')
        cfg = dict(getattr(model, 'pretrained_cfg', None) or {})
        self.model = model.eval()
        self.crop = crop
        self.clip_len, self.interval = clip_len, interval
        self.size = size or int(cfg.get('input_size', (3, 224, 224))[-1])
        self.resize = int(round(self.size / float(cfg.get('crop_pct', 1.0))))
        self.mean = torch.tensor(cfg.get('mean', IMAGENET_MEAN)).view(3, 1, 1, 1)
        self.std = torch.tensor(cfg.get('std', IMAGENET_STD)).view(3, 1, 1, 1)
        self.num_classes = int(model.num_classes)
        self.device = next(model.parameters()).device

    def preprocess(self, frames: np.ndarray) -> Tensor:
        clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float()
        height, width = clip.shape[-2:]
        scale = self.resize / min(height, width)
        new_size = (max(self.size, round(height * scale)), max(self.size, round(width * scale)))
        clip = F.interpolate(clip, size=new_size, mode='bilinear', align_corners=False,
                             antialias=True)  # (C, T, H, W): T acts as the batch of images
        clip = (clip / 255.0 - self.mean) / self.std
        return crop_views(clip, (self.size, self.size), self.crop)

    def features(self, views: Tensor) -> Tensor:
        return self.model.forward_head(self.model.forward_features(views), pre_logits=True)

    def logits(self, features: Tensor) -> Tensor:
        return self.model.get_classifier()(features)


def from_timm(name: str, weights: Optional[str] = None, crop: str = 'center',
              clip_len: int = 8, interval: int = 1, device: str = 'cpu',
              **model_args) -> TimmVideoClassifier:
    """A timm model by name, with weights (read by the guarded reader), for inference.

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
    return TimmVideoClassifier(model.to(device), crop, clip_len, interval)


def from_config(config: str, checkpoint: Optional[str] = None, crop: Optional[str] = None,
                pipeline: str = 'val', cfg_options: Optional[dict] = None,
                device: str = 'cpu'):
    """An MMAction2 recognizer from a config (+ checkpoint); see :mod:`.mmaction_model`."""
    from ..utils.noise import quiet_imports

    with quiet_imports():  # mmcv-lite's MultiScaleDeformableAttention notice, on import
        from .mmaction_model import from_config as build

    return build(config, checkpoint, crop, pipeline, cfg_options, device)

