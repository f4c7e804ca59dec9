"""Smooth-vs-shuffled motion clips: the built-in data that only temporal models can learn.

Every clip shows a bright square on a dark, noisy background. In class 0 (``smooth``) the
square moves in a straight line, at constant speed, in a random direction. A class 1
(``shuffled``) clip is made exactly the same way and then has its frames put in a
shuffled order in which no two frames that followed each other still do (so the order is
never the original one nor its time reversal).

Both classes therefore hold the same *set* of frames and differ only in their *order*:
a C2D network (frame-wise 2D convs, then a temporal average) is invariant to frame order
and stays at chance, while SmallBig's space-time pooled views can see whether the square
moves coherently. Time reversal is never a cue: SmallBig is symmetric in time.

The dataset is a folder of mp4 files plus MMAction2 ``VideoDataset`` annotation lists::

    out_dir/
        train/000000.mp4 ...   val/000000.mp4 ...
        train.txt              # lines "train/000000.mp4 0"
        val.txt
        label_map.txt          # one class name per line: smooth, shuffled
        smallbig_motion.json   # the settings, written last: marks a complete dataset

Generation is deterministic given the settings (the seed included), and each clip is
drawn from its own random stream, so a clip does not depend on how many others are made.
"""
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple, Union

import cv2
import numpy as np

from ..utils.files import OutputExistsError, OutputPathError, make_temp_folder
from ..utils.text import preview

CLASSES: Tuple[str, str] = ('smooth', 'shuffled')
"""Class names; the label of a class is its index."""

SPLITS: Tuple[str, str] = ('train', 'val')
META_FILE = 'smallbig_motion.json'
LABEL_MAP_FILE = 'label_map.txt'
FORMAT_VERSION = 1
MAXIMA = {'num_train': 100_000, 'num_val': 100_000, 'num_frames': 256, 'size': 512, 'fps': 240}
"""Upper bounds of the settings: a clip of 256 frames of 512 x 512 takes 1.5 GiB while it is
made (float64); larger ones ended in an allocator traceback."""
"""Bumped whenever the same settings would produce different files."""

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class MotionSettings:
    """What to generate. The defaults are the quick-start dataset.

    Args:
        num_train: training clips (classes alternate, so half of each).
        num_val: validation clips.
        num_frames: frames per clip (at least 4, so that a shuffle without any kept
            neighbours exists).
        size: frame height and width in pixels (even, at least 16: mp4 needs even sizes).
        square: side of the moving square in pixels.
        step: distance the square moves per frame, as a fraction of ``size``.
        noise: standard deviation of the per-frame Gaussian pixel noise (grey levels).
        fps: frame rate written into the files (metadata only).
        seed: seed of the whole dataset.

    Example:
        >>> MotionSettings(num_train=8, num_val=4).validate()
    """

    num_train: int = 256
    num_val: int = 128
    num_frames: int = 8
    size: int = 32
    square: int = 6
    step: float = 0.1
    noise: float = 8.0
    fps: int = 8
    seed: int = 0

    def validate(self) -> None:
        """Raises ValueError naming the first setting that is out of range."""
        for name in ('num_train', 'num_val', 'num_frames', 'size', 'square', 'fps', 'seed'):
            value = getattr(self, name)
            if not _is_number(value, integer=True):
                raise ValueError(f'{name} must be an int, got {value!r}')
        for name, most in MAXIMA.items():
            if getattr(self, name) > most:
                raise ValueError(f'{name} must be at most {most} (a small synthetic dataset; '
                                 f'each clip is made in memory), got {getattr(self, name)}')
        for name in ('num_train', 'num_val'):
            if getattr(self, name) < 2:
                raise ValueError(f'{name} must be at least 2 (one clip of each class), '
                                 f'got {getattr(self, name)}')
        if self.num_frames < 4:
            raise ValueError(f'num_frames must be at least 4 (no shuffle of fewer frames '
                             f'separates every pair of neighbours), got {self.num_frames}')
        if self.size < 16 or self.size % 2:
            raise ValueError(f'size must be an even number >= 16 (mp4 needs even frame '
                             f'sizes), got {self.size}')
        if not 1 <= self.square < self.size:
            raise ValueError(f'square must be between 1 and size - 1 = {self.size - 1} '
                             f'pixels, got {self.square}')
        if not _is_number(self.step) or not self.step > 0:
            raise ValueError(f'step must be a positive fraction of the frame size, got '
                             f'{self.step!r}')
        travel = self.step * self.size * (self.num_frames - 1)
        if travel > self.size - self.square:
            raise ValueError(
                f'the square cannot stay inside the frame: it travels step * size * '
                f'(num_frames - 1) = {travel:.1f} px but only size - square = '
                f'{self.size - self.square} px are free; lower step, square or num_frames, '
                f'or raise size')
        if not _is_number(self.noise) or not 0 <= self.noise <= 64:
            raise ValueError(f'noise must be a standard deviation in [0, 64] grey levels, '
                             f'got {self.noise!r}')
        if self.fps < 1:
            raise ValueError(f'fps must be positive, got {self.fps}')
        if self.seed < 0:
            raise ValueError(f'seed must be >= 0, got {self.seed}')

    def num_clips(self, split: str) -> int:
        """Number of clips of ``split`` ('train' or 'val')."""
        return {'train': self.num_train, 'val': self.num_val}[_check_split(split)]


class MotionDataPaths(NamedTuple):
    """Paths of a generated dataset (what an MMAction2 config needs)."""

    root: Path
    """The output folder: ``data_prefix=dict(video=root)``."""
    train_ann: Path
    val_ann: Path
    label_map: Path
    reused: bool
    """True when a complete dataset with the same settings was already there."""


MotionDataset = MotionDataPaths  # the first name, kept for code that imports it


def _is_number(value: object, integer: bool = False) -> bool:
    kinds = (int,) if integer else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    return split


def shuffle_order(num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """A random frame order in which no two consecutive frames stay next to each other.

    Neither ``i, i + 1`` nor ``i + 1, i`` appears anywhere in the order, so it is never
    the identity, nor the time reversal, nor a cyclic shift (drawn by rejection: about
    one in eight orders qualifies).

    Args:
        num_frames: T >= 4.
        rng: the random stream.

    Returns:
        A permutation of ``range(num_frames)``, shape (T,).

    Example:
        >>> order = shuffle_order(8, np.random.default_rng(0))
        >>> sorted(order.tolist()) == list(range(8))
        True
        >>> bool(np.all(np.abs(np.diff(order)) > 1))
        True
    """
    if num_frames < 4:
        raise ValueError(f'num_frames must be at least 4, got {num_frames}')
    while True:
        order = rng.permutation(num_frames)
        if np.all(np.abs(np.diff(order)) > 1):
            return order


def _coverage(start: float, length: int, size: int) -> np.ndarray:
    """Fraction of each pixel [i, i + 1) covered by the interval [start, start + length)."""
    edges = np.arange(size + 1, dtype=np.float64)
    return np.clip(np.minimum(edges[1:], start + length) - np.maximum(edges[:-1], start), 0, 1)


def render_smooth_clip(settings: MotionSettings, rng: np.random.Generator) -> np.ndarray:
    """Renders one clip of a square moving in a straight line at constant speed.

    The direction is uniform on the circle, the start is drawn so the whole path stays in
    the frame, the square is anti-aliased (sub-pixel positions), and its colour, the
    background level and the per-frame noise are random.

    Args:
        settings: sizes, speed and noise.
        rng: the random stream.

    Returns:
        RGB frames, uint8, shape (T, size, size, 3).

    Example:
        >>> s = MotionSettings()
        >>> render_smooth_clip(s, np.random.default_rng(0)).shape
        (8, 32, 32, 3)
    """
    t, size, square = settings.num_frames, settings.size, settings.square
    angle = rng.uniform(0, 2 * np.pi)
    velocity = settings.step * size * np.array([np.cos(angle), np.sin(angle)])  # (dx, dy)
    path = velocity * (t - 1)
    free = size - square
    low = np.maximum(0.0, -path)
    start = rng.uniform(low, np.minimum(free, free - path))  # (x0, y0), the path fits
    colour = rng.uniform(160, 255, size=3)
    background = rng.uniform(0, 48)

    frames = np.empty((t, size, size, 3), dtype=np.float64)
    for i in range(t):
        x0, y0 = start + velocity * i
        mask = np.outer(_coverage(y0, square, size), _coverage(x0, square, size))
        frames[i] = background + mask[..., None] * (colour - background)
    if settings.noise:
        frames += rng.normal(0, settings.noise, size=frames.shape)
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def make_clip(settings: MotionSettings, split: str, index: int) -> Tuple[np.ndarray, int]:
    """Makes clip ``index`` of ``split`` exactly as the generator writes it (before encoding).

    Clip ``index`` has label ``index % 2``; its random stream depends only on
    ``(seed, split, index)``.

    Args:
        settings: what to generate.
        split: 'train' or 'val'.
        index: the clip's index within its split.

    Returns:
        RGB frames, uint8, shape (T, size, size, 3), and the label (0 smooth, 1 shuffled).

    Example:
        >>> frames, label = make_clip(MotionSettings(), 'train', 1)
        >>> frames.shape, CLASSES[label]
        ((8, 32, 32, 3), 'shuffled')
    """
    split_id = SPLITS.index(_check_split(split))
    rng = np.random.default_rng([settings.seed, split_id, index])
    frames = render_smooth_clip(settings, rng)
    label = index % 2
    if label == 1:
        frames = frames[shuffle_order(settings.num_frames, rng)]
    return frames, label


def write_mp4(path: PathLike, frames: np.ndarray, fps: int) -> None:
    """Writes RGB frames (T, H, W, 3) uint8 to an MPEG-4 ('mp4v') file with OpenCV."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(os.fspath(path), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write mp4 files here ({path}): install an '
                           f'opencv-python wheel built with FFmpeg')
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[..., ::-1]))  # OpenCV wants BGR
    finally:
        writer.release()


def _expected_meta(settings: MotionSettings) -> Dict:
    return {'format_version': FORMAT_VERSION, 'classes': list(CLASSES),
            'settings': asdict(settings)}


def _is_complete(root: Path, settings: MotionSettings) -> bool:
    """Whether ``root`` holds a complete dataset generated with exactly ``settings``."""
    try:
        meta = json.loads((root / META_FILE).read_text())
    except (OSError, ValueError):
        return False
    if meta != _expected_meta(settings):
        return False
    for split in SPLITS:
        ann = root / f'{split}.txt'
        if not ann.is_file():
            return False
        lines = ann.read_text().split('\n')[:-1]
        if len(lines) != settings.num_clips(split):
            return False
        for line in lines:
            video = root / line.rsplit(' ', 1)[0]
            if not video.is_file() or video.stat().st_size == 0:
                return False
    return True


def _write_dataset(root: Path, settings: MotionSettings) -> None:
    """Writes every file of the dataset into the existing empty folder ``root``."""
    for split in SPLITS:
        (root / split).mkdir()
        lines: List[str] = []
        for index in range(settings.num_clips(split)):
            frames, label = make_clip(settings, split, index)
            name = f'{split}/{index:06d}.mp4'
            write_mp4(root / name, frames, settings.fps)
            lines.append(f'{name} {label}\n')
        (root / f'{split}.txt').write_text(''.join(lines))
    (root / LABEL_MAP_FILE).write_text(''.join(f'{name}\n' for name in CLASSES))
    (root / META_FILE).write_text(json.dumps(_expected_meta(settings), indent=2) + '\n')


def _managed_entries(root: Path) -> List[Path]:
    names = [*SPLITS, *(f'{split}.txt' for split in SPLITS), LABEL_MAP_FILE, META_FILE]
    return [root / name for name in names]


CLIP_NAME = re.compile(r'^\d{6}\.mp4$')
"""The generator's clip file names inside ``train/`` and ``val/``."""


def _foreign_files(root: Path) -> List[str]:
    """What ``root``'s ``train/`` and ``val/`` folders hold that the generator does not write
    (replacing the folders would delete it)."""
    foreign = []
    for split in SPLITS:
        folder = root / split
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            foreign.append(str(folder))
        elif folder.is_dir():
            foreign += [str(entry) for entry in sorted(folder.iterdir())
                        if not (CLIP_NAME.match(entry.name) and entry.is_file()
                                and not entry.is_symlink())]
    return foreign


def generate_motion_dataset(out_dir: PathLike = 'data/smallbig_motion',
                            settings: MotionSettings = MotionSettings(),
                            overwrite: bool = False) -> MotionDataPaths:
    """Writes the smooth-vs-shuffled dataset to ``out_dir``, or reuses it if already there.

    The files are written to a temporary folder beside ``out_dir`` and moved into place
    at the end, so an interrupted run leaves no half dataset behind.

    Args:
        out_dir: the output folder; created if missing.
        settings: what to generate.
        overwrite: replace the generator's own files in a non-empty ``out_dir`` (the
            ``train``/``val`` folders, the annotation lists, the label map and the
            settings file; nothing else is touched). Without it, a non-empty ``out_dir``
            is refused unless it already holds this very dataset.

    Returns:
        The paths of the dataset and whether an existing one was reused.

    Raises:
        ValueError: if a setting is out of range.
        OutputExistsError: if ``out_dir`` is a file, or holds other content and
            ``overwrite`` is False.
        OutputPathError: if ``train/`` or ``val/`` hold files the generator does not write
            (even with ``overwrite``).

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / 'motion'
        >>> data = generate_motion_dataset(out, MotionSettings(num_train=4, num_val=2))
        >>> data.train_ann.read_text().splitlines()[:2]
        ['train/000000.mp4 0', 'train/000001.mp4 1']
        >>> generate_motion_dataset(out, MotionSettings(num_train=4, num_val=2)).reused
        True
    """
    settings.validate()
    root = Path(out_dir)
    result = MotionDataPaths(root, root / 'train.txt', root / 'val.txt', root / LABEL_MAP_FILE,
                           reused=True)
    if root.exists() and not root.is_dir():
        raise OutputExistsError(f'out_dir {root} exists and is not a folder: choose another '
                              f'output folder')
    nonempty = root.is_dir() and any(root.iterdir())
    if nonempty and _is_complete(root, settings) and not overwrite:
        return result
    if nonempty and not overwrite:
        raise OutputExistsError(
            f'out_dir {root} is not empty and does not hold a complete dataset made with '
            f'these settings; refusing to write into it. Choose another output folder, '
            f'empty it, or pass overwrite=True (--force) to replace the generator\'s '
            f'files there')

    foreign = _foreign_files(root) if nonempty else []
    if foreign:
        raise OutputPathError(
            f'out_dir {root} holds files the generator did not write ({preview(foreign, 3)}); '
            'replacing its train/ and val/ folders would delete them, so this is refused even '
            'with --force: choose another output folder')
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(make_temp_folder(root))  # umask modes, unlike mkdtemp's 0700
    try:
        _write_dataset(tmp, settings)
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        if not root.exists():
            os.replace(tmp, root)
        else:  # overwrite: replace only the generator's own entries
            for entry in _managed_entries(root):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                elif entry.exists() or entry.is_symlink():
                    entry.unlink()
            for entry in _managed_entries(tmp):  # the settings file last: marks completeness
                os.replace(entry, root / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result._replace(reused=False)

