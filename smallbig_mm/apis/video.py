"""Reading videos (and folders of extracted frames) for inference, with one-line errors.

Files are read with decord; a file decord cannot open or decode is tried again with PyAV
before it is called damaged (the two libraries fail on different files). A file that
neither can read, has no frames, or is not a regular file (a folder, a FIFO, a device)
raises :class:`VideoReadError`, whose message names the file and what it is. A folder of
frames (MMAction2's ``RawframeDataset`` layout, ``img_00001.jpg``...) is opened with
:func:`open_frame_folder`.
"""

import os
import stat
from typing import Optional, Sequence

import numpy as np

from ..utils.errors import UserError

REPAIR_HINT = (
    'give a video file FFmpeg can decode (mp4, avi, webm, mkv, ...); a damaged '
    'file can often be repaired with `ffmpeg -i in.mp4 out.mp4`'
)
FILE_KINDS = (
    (stat.S_ISDIR, 'a directory'),
    (stat.S_ISFIFO, 'a FIFO (named pipe)'),
    (stat.S_ISSOCK, 'a socket'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
)
"""What a path that is not a regular file is called in messages."""


class VideoReadError(UserError, RuntimeError):
    """A video that cannot be read; the message names the file and what failed."""


def _reason(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0].rstrip('.') if text else type(err).__name__


def not_regular_kind(path: str) -> Optional[str]:
    """``'a FIFO (named pipe)'``, ``'a directory'``... for a path that exists but is not a
    regular file; ``None`` for a regular file.

    Example:
        >>> not_regular_kind('/')
        'a directory'
    """
    mode = os.stat(path).st_mode
    return (
        next((name for test, name in FILE_KINDS if test(mode)), None)
        if not stat.S_ISREG(mode)
        else None
    )


class PyAVReader:
    """decord's reader interface (``len``, ``get_avg_fps``, ``get_batch``) over PyAV,
    decoding the stream from its start up to the last frame asked for."""

    def __init__(self, path: str) -> None:
        import av

        self.path = path
        with av.open(path) as container:
            stream = container.streams.video[0]
            self.fps = float(stream.average_rate or 0)
            self.length = stream.frames or sum(1 for _ in container.decode(video=0))

    def __len__(self) -> int:
        return self.length

    def get_avg_fps(self) -> float:
        return self.fps

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        import av

        wanted, found = set(indices), {}
        with av.open(self.path) as container:
            for number, frame in enumerate(container.decode(video=0)):
                if number in wanted:
                    found[number] = frame.to_ndarray(format='rgb24')
                if number >= max(wanted):
                    break
        missing = sorted(wanted - set(found))
        if missing:
            raise RuntimeError(f'PyAV decoded no frame {missing[0]}')
        return _Batch(np.stack([found[i] for i in indices]))


class _Batch:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def asnumpy(self) -> np.ndarray:
        return self.array


class Video:
    """An open video file: its frame count, frame rate and frames by index.

    Attributes:
        path: the file.
        num_frames: frames the container declares.
        fps: average frames per second (25.0 when the container gives none; ``None`` for
            a folder of frames).
    """

    def __init__(self, path: str, reader) -> None:
        self.path = path
        self.reader = reader
        self.num_frames = len(reader)
        self.fps = float(reader.get_avg_fps()) or 25.0

    def frames(self, indices: Sequence[int]) -> np.ndarray:
        """The frames at ``indices`` as RGB uint8, shape (len(indices), H, W, 3).

        Raises:
            VideoReadError: when decoding fails with decord and PyAV (e.g. the file's data
                is cut off).
        """
        indices = [int(i) for i in indices]
        try:
            return self.reader.get_batch(indices).asnumpy()
        except Exception as err:  # decord raises DECORDError or RuntimeError
            if not isinstance(self.reader, PyAVReader):
                try:
                    self.reader = PyAVReader(self.path)
                    return self.reader.get_batch(indices).asnumpy()
                except Exception:  # noqa: BLE001  (both failed: the file is damaged)
                    pass
            raise VideoReadError(
                f'cannot decode video {self.path} (frames {min(indices)}-{max(indices)} of '
                f'{self.num_frames}) with decord or PyAV: {_reason(err)}. The file is '
                f'probably truncated or damaged; {REPAIR_HINT}'
            ) from None

    def __len__(self) -> int:
        return self.num_frames


class FrameFolder(Video):
    """A folder of extracted frames (MMAction2's ``RawframeDataset``: one image per frame).

    Args:
        path: the folder.
        total_frames: frames in it (the annotation list's second field).
        filename_tmpl: image names, formatted with the frame number.
        start_index: the number of the first frame (MMAction2's default: 1).
    """

    def __init__(
        self,
        path: str,
        total_frames: int,
        filename_tmpl: str = 'img_{:05}.jpg',
        start_index: int = 1,
    ) -> None:
        self.path, self.reader, self.fps = path, None, None
        self.num_frames = total_frames
        self.filename_tmpl, self.start_index = filename_tmpl, start_index

    def frames(self, indices: Sequence[int]) -> np.ndarray:
        import cv2

        images = []
        for index in indices:
            name = os.path.join(self.path, self.filename_tmpl.format(int(index) + self.start_index))
            image = cv2.imread(name, cv2.IMREAD_COLOR)
            if image is None:
                raise VideoReadError(
                    f'cannot read frame {int(index)} of {self.path}: {name} is '
                    'missing or not an image (check total_frames and '
                    'filename_tmpl)'
                )
            images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        return np.stack(images)


def open_frame_folder(
    path: str, total_frames: int, filename_tmpl: str = 'img_{:05}.jpg', start_index: int = 1
) -> FrameFolder:
    """Opens a folder of frames (see :class:`FrameFolder`).

    Raises:
        VideoReadError: the folder is missing, not a folder, or ``total_frames < 1``.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise VideoReadError(
            f'frame folder not found: {path}'
            if not os.path.exists(path)
            else f'not a frame folder: {path} is a file'
        )
    if total_frames < 1:
        raise VideoReadError(f'{path}: total_frames must be at least 1, got {total_frames}')
    return FrameFolder(path, total_frames, filename_tmpl, start_index)


def open_video(path: str) -> Video:
    """Opens ``path`` with decord (PyAV if decord fails) and checks that it has frames.

    Raises:
        VideoReadError: the file is missing, not a regular file, undecodable or empty.

    Example:
        >>> open_video('missing.mp4')
        Traceback (most recent call last):
        ...
        smallbig_mm.apis.video.VideoReadError: video not found: missing.mp4
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoReadError(f'video not found: {path}')
    kind = not_regular_kind(path)
    if kind is not None:
        raise VideoReadError(f'not a video file: {path} is {kind}')
    try:
        import decord

        reader = decord.VideoReader(path, num_threads=1)
    except Exception as err:  # noqa: BLE001  (decord's errors; PyAV gets its turn)
        try:
            reader = PyAVReader(path)
        except Exception:  # noqa: BLE001
            raise VideoReadError(
                f'cannot read video {path} with decord or PyAV: '
                f'{_reason(err)}. {REPAIR_HINT[0].upper()}{REPAIR_HINT[1:]}'
            ) from None
    if len(reader) == 0:
        raise VideoReadError(f'cannot read video {path}: it has no frames')
    return Video(path, reader)
