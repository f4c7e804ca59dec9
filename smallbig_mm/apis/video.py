"""Reading video files for inference, with one-line errors naming the file.

Needs decord. A file that cannot be opened, has no frames, or fails while its frames are
decoded (for example an mp4 whose index is intact but whose data is cut off) raises
:class:`VideoReadError`, whose message names the file and the frames asked for.
"""
import os
from typing import Sequence

import numpy as np

from ..utils.errors import UserError

REPAIR_HINT = ('give a video file FFmpeg can decode (mp4, avi, webm, mkv, ...); a damaged '
               'file can often be repaired with `ffmpeg -i in.mp4 out.mp4`')


class VideoReadError(UserError, RuntimeError):
    """A video that cannot be read; the message names the file and what failed."""


def _reason(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0].rstrip('.') if text else type(err).__name__


class Video:
    """An open video file: its frame count, frame rate and frames by index.

    Attributes:
        path: the file.
        num_frames: frames the container declares.
        fps: average frames per second (25.0 when the container gives none).
    """

    def __init__(self, path: str, reader) -> None:
        self.path = path
        self.reader = reader
        self.num_frames = len(reader)
        self.fps = float(reader.get_avg_fps()) or 25.0

    def frames(self, indices: Sequence[int]) -> np.ndarray:
        """The frames at ``indices`` as RGB uint8, shape (len(indices), H, W, 3).

        Raises:
            VideoReadError: when decoding fails (e.g. the file's data is cut off).
        """
        indices = [int(i) for i in indices]
        try:
            return self.reader.get_batch(indices).asnumpy()
        except Exception as err:  # decord raises DECORDError or RuntimeError
            raise VideoReadError(
                f'cannot decode video {self.path} (frames {min(indices)}-{max(indices)} of '
                f'{self.num_frames}): {_reason(err)}. The file is probably truncated or '
                f'damaged; {REPAIR_HINT}') from None

    def __len__(self) -> int:
        return self.num_frames


def open_video(path: str) -> Video:
    """Opens ``path`` with decord and checks that it has frames.

    Raises:
        VideoReadError: the file is missing, a folder, undecodable or empty.

    Example:
        >>> open_video('missing.mp4')
        Traceback (most recent call last):
        ...
        smallbig_mm.apis.video.VideoReadError: video not found: missing.mp4
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoReadError(f'video not found: {path}')
    if not os.path.isfile(path):
        raise VideoReadError(f'not a video file: {path} is a directory')
    import decord

    try:
        reader = decord.VideoReader(path, num_threads=1)
    except Exception as err:
        raise VideoReadError(f'cannot read video {path}: {_reason(err)}. '
                             f'{REPAIR_HINT[0].upper()}{REPAIR_HINT[1:]}') from None
    if len(reader) == 0:
        raise VideoReadError(f'cannot read video {path}: it has no frames')
    return Video(path, reader)
