"""Scoring a whole video window by window: clip-level and video-level scores, features.

Example:
    >>> from smallbig_mm.apis import from_config, infer_video, open_video
    >>> model = from_config('CONFIG.py', 'epoch_20.pth', crop='three')  # doctest: +SKIP
    >>> result = infer_video(model, open_video('video.mp4'), stride=16)  # doctest: +SKIP
    >>> result.windows[0].start, result.clip_scores.shape  # doctest: +SKIP
    (0, (12, 400))
"""

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..utils.progress import progress
from .models import VideoClassifier
from .video import Video
from .windows import MAX_CLIP_LEN, Window, plan_windows


@dataclass
class VideoResult:
    """What :func:`infer_video` found.

    Attributes:
        path: the video file.
        fps: its frame rate.
        num_frames: its frame count.
        windows: the windows scored, in order.
        clip_scores: (windows, classes): per window, the softmax of the logits averaged
            over the crop views.
        video_scores: (classes,): the mean of ``clip_scores`` over the windows (MMAction2's
            ``average_clips='prob'``).
        features: (windows, feature width): pooled backbone features (the classifier's
            input) averaged over the crop views; ``None`` unless asked for.
    """

    path: str
    fps: float
    num_frames: int
    windows: List[Window]
    clip_scores: np.ndarray
    video_scores: np.ndarray
    features: Optional[np.ndarray] = None

    def top_k(self, k: int = 5) -> List[Tuple[int, float]]:
        """The ``k`` best ``(class index, video score)`` pairs, best first."""
        order = np.argsort(-self.video_scores, kind='stable')[:k]
        return [(int(i), float(self.video_scores[i])) for i in order]

    def index(self) -> dict:
        """The windows and frame rate as plain JSON (what the feature extractor writes)."""
        return dict(
            video=self.path,
            fps=self.fps,
            num_frames=self.num_frames,
            windows=[w.to_json() for w in self.windows],
        )


def check_window_arguments(**values: Optional[int]) -> None:
    """Raises ``ValueError`` naming the first argument that is not ``None`` or an int >= 1.

    Example:
        >>> check_window_arguments(clip_len=0)
        Traceback (most recent call last):
        ...
        ValueError: clip_len must be an int of at least 1 (or None for the model's), got 0
    """
    for name, value in values.items():
        if value is None and name not in ('max_windows', 'batch'):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            default = (
                " (or None for the model's)"
                if name in ('clip_len', 'interval')
                else ' (or None)'
                if name == 'stride'
                else ''
            )
            raise ValueError(f'{name} must be an int of at least 1{default}, got {value!r}')
        if name == 'clip_len' and value > MAX_CLIP_LEN:
            raise ValueError(f'clip_len must be at most {MAX_CLIP_LEN} frames, got {value}')


def _batches(windows: List[Window], size: int) -> List[List[Window]]:
    return [windows[i : i + size] for i in range(0, len(windows), size)]


@torch.no_grad()
def infer_video(
    model: VideoClassifier,
    video: Video,
    clip_len: Optional[int] = None,
    interval: Optional[int] = None,
    stride: Optional[int] = None,
    max_windows: int = 10,
    segments: Optional[bool] = None,
    batch: int = 1,
    with_features: bool = False,
    show_progress: bool = False,
) -> VideoResult:
    """Scores ``video`` window by window.

    Args:
        model: from :func:`~smallbig_mm.apis.from_config` or :func:`~.models.from_timm`.
        video: from :func:`~.video.open_video`.
        clip_len, interval: the window (default: the model's, i.e. the config's sampler).
        stride: frames between window starts; ``None`` spreads at most ``max_windows``
            windows evenly (see :func:`~.windows.plan_windows`).
        max_windows: the cap without ``stride``.
        segments: one window of segments over the whole video (default: the model's;
            ``False`` whenever ``clip_len``, ``interval`` or ``stride`` is given).
        batch: windows per forward pass.
        with_features: also return the pooled features.
        show_progress: a progress line on stderr.

    Returns:
        A :class:`VideoResult`.

    Raises:
        VideoReadError: the video fails to decode.
    """
    check_window_arguments(
        clip_len=clip_len, interval=interval, stride=stride, max_windows=max_windows, batch=batch
    )
    if segments is None:
        segments = model.segments and clip_len is None and interval is None and stride is None
    windows = plan_windows(
        video.num_frames,
        clip_len or model.clip_len,
        interval or (1 if model.segments else model.interval),
        stride,
        max_windows,
        segments,
    )
    scores, features = [], []
    for group in progress(
        _batches(windows, batch), 'windows', show_progress and len(windows) > batch
    ):
        views = [model.preprocess(video.frames(w.frame_inds)) for w in group]
        per_window = views[0].shape[0]
        inputs = torch.cat(views).to(model.device)
        pooled = model.features(inputs)
        probs = model.logits(pooled).float().softmax(dim=1)
        scores.append(probs.view(len(group), per_window, -1).mean(1).cpu())
        if with_features:
            features.append(pooled.float().view(len(group), per_window, -1).mean(1).cpu())
    clip_scores = torch.cat(scores).numpy()
    return VideoResult(
        video.path,
        video.fps,
        video.num_frames,
        windows,
        clip_scores,
        clip_scores.mean(0),
        torch.cat(features).numpy() if with_features else None,
    )
