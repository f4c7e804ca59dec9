"""Writing a video again with its predictions drawn on every frame (needs OpenCV; GIFs
need Pillow).

The output is written atomically (:func:`smallbig_mm.utils.files.atomic_output`): a
decode failure half-way leaves the previous file, or none, never a partial one.
"""

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..utils.files import atomic_output
from ..utils.progress import progress
from .video import Video

WRITERS = {'.mp4': 'mp4v', '.avi': 'MJPG'}
"""Video outputs written with OpenCV, by suffix, and their FourCC codes."""
GIF_FPS = 8
GIF_WIDTH = 320
DECODE_CHUNK = 32


def output_suffix(path: str) -> str:
    """The lower-case suffix of ``path``; ValueError unless .mp4, .avi or .gif."""
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS and suffix != '.gif':
        raise ValueError(f'cannot write {path}: use a .mp4, .avi or .gif file name')
    return suffix


def caption_lines(top: Sequence[Tuple[int, float]], labels: Optional[Sequence[str]]) -> List[str]:
    """``'<name or index>: <score>'`` for each prediction."""
    return [f'{labels[i] if labels else f"class {i}"}: {score:.3f}' for i, score in top]


def draw_caption(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Draws ``lines`` (top-left, white on a dark box) on a copy of an RGB frame."""
    import cv2

    out = frame.copy()
    scale = max(0.4, frame.shape[1] / 640)
    thickness = max(1, int(round(scale * 1.5)))
    y = 0
    for line in lines:
        (w, h), base = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        cv2.rectangle(out, (0, y), (w + 8, y + h + base + 6), (0, 0, 0), -1)
        cv2.putText(
            out,
            line,
            (4, y + h + 3),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )
        y += h + base + 6
    return out


def write_video(
    video: Video, path: str, lines: Sequence[str], force: bool = False, show_progress: bool = True
) -> None:
    """Writes ``video`` to ``path`` (.mp4, .avi or .gif) with ``lines`` on every frame.

    A GIF is reduced to about 8 frames per second and 320 pixels wide.

    Raises:
        ValueError: an unsupported suffix, or ``path`` is the input video.
        smallbig_mm.utils.files.OutputExistsError: ``path`` exists and not ``force``.
        VideoReadError: decoding fails (``path`` is left as it was).
    """
    import cv2

    suffix = output_suffix(path)
    step = max(1, round(video.fps / GIF_FPS)) if suffix == '.gif' else 1
    indices = list(range(0, video.num_frames, step))
    chunks = [indices[i : i + DECODE_CHUNK] for i in range(0, len(indices), DECODE_CHUNK)]
    with atomic_output(path, force=force, inputs=(video.path,)) as tmp:
        gif_frames: List[np.ndarray] = []
        writer = None
        try:
            for chunk in progress(chunks, 'writing', show_progress and len(chunks) > 1):
                for frame in video.frames(chunk):
                    if suffix == '.gif':
                        height = round(frame.shape[0] * GIF_WIDTH / frame.shape[1])
                        frame = cv2.resize(frame, (GIF_WIDTH, height), interpolation=cv2.INTER_AREA)
                        gif_frames.append(draw_caption(frame, lines))
                        continue
                    if writer is None:
                        writer = cv2.VideoWriter(
                            tmp,
                            cv2.VideoWriter_fourcc(*WRITERS[suffix]),
                            video.fps,
                            (frame.shape[1], frame.shape[0]),
                        )
                        if not writer.isOpened():
                            raise OSError(f'OpenCV cannot write {path} (codec {WRITERS[suffix]})')
                    writer.write(cv2.cvtColor(draw_caption(frame, lines), cv2.COLOR_RGB2BGR))
        finally:
            if writer is not None:
                writer.release()
        if suffix == '.gif':
            from PIL import Image

            images = [Image.fromarray(f) for f in gif_frames]
            images[0].save(
                tmp,
                format='GIF',
                save_all=True,
                append_images=images[1:],
                duration=int(1000 * step / video.fps),
                loop=0,
            )
