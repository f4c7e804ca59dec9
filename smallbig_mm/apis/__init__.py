"""Whole-video inference: clip-level and video-level scores, and pooled features.

One API serves the demo (``smallbig-demo``), the feature extractor
(``smallbig-extract-features``) and Python users. A *window* is one clip of
``clip_len`` frames taken every ``interval`` frames; windows start every ``stride``
frames (or are spread evenly over the video). For each window the model gives class
scores (the softmax of the logits, averaged over the crop views: one for a center crop,
three for a three crop) and pooled backbone features (the classifier's input, averaged
over the views). The **video-level** score is the mean of the window scores, which is
what MMAction2's ``average_clips='prob'`` computes over a test pipeline's clips.

Libraries: torch and numpy always; decord to read videos. A model from an MMAction2
config (:func:`from_config`) needs the MMAction2 stack and imports
``smallbig_mm.mmaction``; a model from a timm name (:func:`from_timm`) needs timm and
preprocesses with plain torch.

Example:
    >>> from smallbig_mm.apis import from_timm, infer_video, open_video
    >>> model = from_timm('smallbig_resnet23', 'weights.pth', crop='center')  # doctest: +SKIP
    >>> result = infer_video(model, open_video('demo/demo.mp4'), stride=32)  # doctest: +SKIP
    >>> result.clip_scores.shape, result.video_scores.shape  # doctest: +SKIP
    ((8, 400), (400,))
"""

from typing import Optional

from .inference import VideoResult, infer_video
from .models import CROPS, VideoClassifier, from_timm
from .video import Video, VideoReadError, open_video
from .windows import Window, plan_windows

__all__ = [
    'CROPS',
    'Video',
    'VideoClassifier',
    'VideoReadError',
    'VideoResult',
    'Window',
    'from_config',
    'from_timm',
    'infer_video',
    'open_video',
    'plan_windows',
]


def from_config(
    config: str,
    checkpoint: Optional[str] = None,
    crop: Optional[str] = None,
    pipeline: str = 'test',
    cfg_options: Optional[dict] = None,
    device: str = 'cpu',
) -> VideoClassifier:
    """An MMAction2 recognizer from a config (+ checkpoint); see :mod:`.mmaction_model`.

    Imports the MMAction2 stack only when called.
    """
    from ..utils.noise import quiet_imports

    with quiet_imports():  # mmcv-lite's MultiScaleDeformableAttention notice, on import
        from .mmaction_model import from_config as build

    return build(config, checkpoint, crop, pipeline, cfg_options, device)
