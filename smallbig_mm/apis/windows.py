"""Which frames each window of a video holds (torch- and library-free).

A window is one clip: ``clip_len`` frames, ``interval`` frames apart, so it spans
``clip_len * interval`` frames. Past the end of a short video the indices loop, as
MMAction2's ``SampleFrames`` does (``out_of_bound_opt='loop'``).
"""

from dataclasses import dataclass
from typing import List, Optional

import numpy as np

MAX_CLIP_LEN = 256
"""The most frames one window may hold: 8 times the paper's longest clip (32 frames). A
window is decoded whole, so a hostile ``clip_len`` would otherwise be an allocation of
gigabytes per window."""


@dataclass(frozen=True)
class Window:
    """One clip of a video.

    Attributes:
        start: first frame of the span.
        end: one past the last frame of the span (at most the video's length).
        frame_inds: the frames the clip holds, shape (clip_len,).
    """

    start: int
    end: int
    frame_inds: np.ndarray

    def to_json(self) -> dict:
        """``{'start', 'end', 'frames'}`` with plain ints."""
        return dict(start=self.start, end=self.end, frames=[int(i) for i in self.frame_inds])


def _clip(total: int, start: int, clip_len: int, interval: int) -> Window:
    span = clip_len * interval
    inds = (start + np.arange(clip_len) * interval) % total
    return Window(start, min(start + span, total), inds)


def spread_starts(total: int, span: int, max_windows: int) -> List[int]:
    """First frames of evenly spaced windows of ``span`` frames covering the video.

    As many windows as fit without overlap (at least one), at most ``max_windows``;
    a single window is centred.

    Example:
        >>> spread_starts(280, 64, 10)
        [0, 72, 144, 216]
    """
    if span >= total:
        return [0]
    count = max(1, min(max_windows, total // span))
    if count == 1:
        return [(total - span) // 2]
    step = (total - span) / (count - 1)
    return [round(i * step) for i in range(count)]


def segment_window(total: int, clip_len: int) -> Window:
    """One window over the whole video: ``clip_len`` segments, one frame from the middle
    of each, as MMAction2's ``UniformSample`` picks them in test mode (one clip).

    Example:
        >>> segment_window(17, 4).frame_inds.tolist()
        [2, 6, 10, 14]
    """
    seg_size = (total - 1) / clip_len
    inds = [int(np.round(seg_size * i)) + int(seg_size / 2) for i in range(clip_len)]
    return Window(0, total, np.array(inds))


def plan_windows(
    total: int,
    clip_len: int,
    interval: int = 1,
    stride: Optional[int] = None,
    max_windows: int = 10,
    segments: bool = False,
) -> List[Window]:
    """The windows a video of ``total`` frames is scored on.

    Args:
        total: frames in the video (> 0).
        clip_len: frames per clip.
        interval: frames between the clip's frames.
        stride: frames between window starts: sliding windows from frame 0 while the
            span fits (frames after the last full window are not covered). ``None``:
            at most ``max_windows`` windows spread evenly, without overlap.
        max_windows: the cap when ``stride`` is None.
        segments: one window of ``clip_len`` segments over the whole video
            (segment sampling, e.g. Something-Something configs); ignores the rest.

    Example:
        >>> [(w.start, w.end) for w in plan_windows(20, 4, 2, stride=4)]
        [(0, 8), (4, 12), (8, 16), (12, 20)]
    """
    if total < 1 or clip_len < 1 or interval < 1:
        raise ValueError(
            f'need total, clip_len and interval >= 1, got {total}, {clip_len}, {interval}'
        )
    if segments:
        return [segment_window(total, clip_len)]
    span = clip_len * interval
    if stride is None:
        starts = spread_starts(total, span, max_windows)
    elif stride < 1:
        raise ValueError(f'stride must be at least 1, got {stride}')
    else:
        starts = list(range(0, max(total - span, 0) + 1, stride))
    return [_clip(total, start, clip_len, interval) for start in starts]
