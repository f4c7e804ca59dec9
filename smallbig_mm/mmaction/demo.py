"""Recognise the action in one video file: the logic behind ``tools/demo.py``.

The video is covered by evenly spaced windows, each as long as one clip of the config's
sampler spans (``clip_len x frame_interval`` frames, or the whole video for segment
sampling); in each window the config's own sampler picks the frames, the config's
transforms (resize, crop, format) prepare them, and the recognizer scores them. The
class scores are averaged over the windows. Optionally the video is written again (mp4,
avi or GIF) with the top predictions drawn on every frame.

Example:
    >>> from smallbig_mm.mmaction.demo import main
    >>> main(['configs/recognition/smallbig/'
    ...       'smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py',
    ...       'demo/demo.mp4', '--labels', 'demo/label_map_k400.txt'])  # doctest: +SKIP
    Top-5 of demo/demo.mp4 (4 windows of 8 frames): ...
"""
import argparse
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .pipelines import FRAME_SAMPLERS

SAMPLERS = FRAME_SAMPLERS
"""Frame samplers the demo understands (one per pipeline)."""
LOADING_STEPS = ('DecordInit', 'DecordDecode', 'PyAVInit', 'PyAVDecode', 'OpenCVInit',
                 'OpenCVDecode', 'RawFrameDecode', 'ImageDecode')
"""Pipeline steps replaced by the demo's own reading of the video file."""
WRITERS = {'.mp4': 'mp4v', '.avi': 'MJPG'}
"""Video outputs written with OpenCV, by suffix, and their FourCC codes."""
GIF_FPS = 8
GIF_WIDTH = 320
DECODE_CHUNK = 32


class DemoError(RuntimeError):
    """A problem with the demo's inputs, with a message saying what to do."""


class RandomWeightsWarning(UserWarning):
    """The recognizer has no trained weights: its predictions are meaningless."""


@dataclass
class Prediction:
    """The result of :func:`recognize`.

    Attributes:
        scores: class scores averaged over the windows, shape (num_classes,).
        windows: first frame of every window that was scored.
        clip_len: frames per clip of the config's sampler.
    """
    scores: np.ndarray
    windows: List[int]
    clip_len: int

    def top_k(self, k: int = 5) -> List[Tuple[int, float]]:
        """The ``k`` best ``(class index, score)`` pairs, best first."""
        order = np.argsort(-self.scores, kind='stable')[:k]
        return [(int(i), float(self.scores[i])) for i in order]


def load_labels(path: str) -> List[str]:
    """Reads a label map: one class name per line, in label order (blank lines ignored).

    Raises:
        DemoError: if the file is missing or holds no names.
    """
    if not os.path.isfile(path):
        raise DemoError(f'label map not found: {path} (a text file with one class name per '
                        'line, e.g. demo/label_map_k400.txt)')
    with open(path, encoding='utf-8') as f:
        labels = [line.strip() for line in f if line.strip()]
    if not labels:
        raise DemoError(f'label map {path} is empty: it needs one class name per line')
    return labels


def open_video(path: str):
    """Opens ``path`` with decord and checks that it has frames.

    Returns:
        A ``decord.VideoReader`` (frames as RGB uint8 arrays).

    Raises:
        DemoError: if the file is missing, cannot be decoded or has no frames.
    """
    if not os.path.exists(path):
        raise DemoError(f'video not found: {path}')
    if not os.path.isfile(path):
        raise DemoError(f'not a video file: {path} is a directory')
    import decord

    try:
        reader = decord.VideoReader(path, num_threads=1)
    except Exception as err:  # decord raises its own DECORDError or RuntimeError
        reason = str(err).splitlines()[0].rstrip('.') if str(err) else type(err).__name__
        raise DemoError(f'cannot read video {path}: {reason}. Give a video '
                        'file FFmpeg can decode (mp4, avi, webm, mkv, ...); a damaged file can '
                        'often be repaired with `ffmpeg -i in.mp4 out.mp4`') from None
    if len(reader) == 0:
        raise DemoError(f'cannot read video {path}: it has no frames')
    return reader


def build_recognizer(config: str, checkpoint: Optional[str] = None,
                     cfg_options: Optional[dict] = None, device: str = 'cpu'):
    """Builds the config's recognizer in eval mode, with the checkpoint's weights.

    Without a checkpoint the weights are random (the config's initialisation, seeded) and
    a :class:`RandomWeightsWarning` is issued. ImageNet inflation (``pretrained``) is
    skipped: a demo classifies, which needs trained weights.

    Returns:
        ``(model, cfg)``.

    Raises:
        DemoError: for a missing config or checkpoint file.
        smallbig_mm.weights.CheckpointError: for a checkpoint that cannot be loaded.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS

    from ..weights import load_checkpoint

    if not os.path.isfile(config):
        raise DemoError(f'config file not found: {config}')
    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise DemoError(f'checkpoint file not found: {checkpoint}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    backbone = cfg.model.get('backbone', {})
    if 'pretrained' in backbone:
        backbone.pretrained = None
    backbone.pop('init_cfg', None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        _quiet_init_weights(model)
        warnings.warn('no checkpoint given: the recognizer has random weights, so its '
                      'predictions are meaningless (this only checks that the model runs); '
                      'pass --checkpoint FILE for real predictions', RandomWeightsWarning,
                      stacklevel=2)
    else:
        load_checkpoint(model, checkpoint)
    return model.to(device).eval(), cfg


def _quiet_init_weights(model: nn.Module) -> None:
    """``model.init_weights()`` (the config's init) without MMEngine's per-parameter log."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def split_pipeline(pipeline: Sequence[dict]) -> Tuple[dict, List[dict]]:
    """Splits a config pipeline into its frame sampler and the transforms after decoding.

    Raises:
        DemoError: if the pipeline has no supported sampler.
    """
    samplers = [step for step in pipeline if step['type'] in SAMPLERS]
    if len(samplers) != 1:
        raise DemoError(f'the pipeline needs exactly one frame sampler ({", ".join(SAMPLERS)}); '
                        f'found {[s["type"] for s in samplers]}')
    transforms = [dict(step) for step in pipeline
                  if step['type'] not in SAMPLERS and step['type'] not in LOADING_STEPS]
    return dict(samplers[0]), transforms


def window_starts(total_frames: int, span: int, max_windows: int) -> List[int]:
    """First frames of evenly spaced windows of ``span`` frames covering the video.

    As many windows as fit without overlap (at least one), at most ``max_windows``.

    Example:
        >>> window_starts(280, 64, 10)
        [0, 72, 144, 216]
    """
    if span >= total_frames:
        return [0]
    count = max(1, min(max_windows, total_frames // span))
    if count == 1:
        return [(total_frames - span) // 2]
    step = (total_frames - span) / (count - 1)
    return [round(i * step) for i in range(count)]


def progress(items: Sequence, description: str, enabled: bool) -> Iterable:
    """Iterates ``items`` with a progress bar (tqdm, else MMEngine's) when ``enabled``."""
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return _mmengine_progress(items)
    return tqdm(items, desc=description, unit='step', file=sys.stderr, leave=False)


def _mmengine_progress(items: Sequence) -> Iterator:
    from mmengine.utils import ProgressBar

    bar = ProgressBar(len(items), file=sys.stderr)
    for item in items:
        yield item
        bar.update()


def recognize(model: nn.Module, reader, pipeline: Sequence[dict], max_windows: int = 10,
              show_progress: bool = True) -> Prediction:
    """Scores the video window by window with the config's sampler and transforms.

    Args:
        model: an MMAction2 recognizer in eval mode.
        reader: an open ``decord.VideoReader``.
        pipeline: a config pipeline (``cfg.val_pipeline`` or ``cfg.test_pipeline``).
        max_windows: at most this many windows (more for longer videos up to this cap).
        show_progress: a progress bar when there is more than one window.

    Returns:
        The averaged :class:`Prediction`.
    """
    from mmaction.registry import TRANSFORMS
    from mmengine.dataset import Compose, pseudo_collate

    sampler_cfg, transform_cfgs = split_pipeline(pipeline)
    sampler_cfg.update(num_clips=1, test_mode=True)
    sampler_cfg.pop('twice_sample', None)
    sampler = TRANSFORMS.build(sampler_cfg)
    transforms = Compose([TRANSFORMS.build(cfg) for cfg in transform_cfgs])
    total = len(reader)
    clip_len = int(sampler_cfg['clip_len'])
    if sampler_cfg['type'] == 'UniformSample':
        span = total  # segments spread over the whole video
    else:
        span = clip_len * int(sampler_cfg.get('frame_interval', 1))
    starts = window_starts(total, span, max_windows)
    scores = []
    for start in progress(starts, 'windows', show_progress and len(starts) > 1):
        window = sampler(dict(total_frames=min(span, total), start_index=start))
        indices = np.clip(window['frame_inds'], 0, total - 1)
        frames = list(reader.get_batch(indices.tolist()).asnumpy())
        results = dict(window, imgs=frames, original_shape=frames[0].shape[:2],
                       img_shape=frames[0].shape[:2], modality='RGB', label=-1)
        data = pseudo_collate([transforms(results)])
        with torch.no_grad():
            sample = model.test_step(data)[0]
        scores.append(sample.pred_score.float().cpu().numpy())
    return Prediction(np.mean(scores, axis=0), starts, clip_len)


def caption_lines(top: Sequence[Tuple[int, float]], labels: Optional[Sequence[str]]
                  ) -> List[str]:
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
        cv2.putText(out, line, (4, y + h + 3), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), thickness, cv2.LINE_AA)
        y += h + base + 6
    return out


def check_output_path(path: str) -> str:
    """Returns the lower-case suffix of ``path``; raises DemoError unless .mp4/.avi/.gif."""
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS and suffix != '.gif':
        raise DemoError(f'cannot write {path}: use a .mp4, .avi or .gif file name')
    return suffix


def write_video(reader, path: str, lines: Sequence[str], show_progress: bool = True) -> None:
    """Writes the video to ``path`` (.mp4, .avi or .gif) with ``lines`` drawn on every frame.

    A GIF is reduced to about 8 frames per second and 320 pixels wide.

    Raises:
        DemoError: for an unsupported suffix or a file that cannot be written.
    """
    import cv2

    suffix = check_output_path(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fps = float(reader.get_avg_fps()) or 25.0
    total = len(reader)
    step = max(1, round(fps / GIF_FPS)) if suffix == '.gif' else 1
    indices = list(range(0, total, step))
    chunks = [indices[i:i + DECODE_CHUNK] for i in range(0, len(indices), DECODE_CHUNK)]
    frames_out: List[np.ndarray] = []
    writer = None
    for chunk in progress(chunks, 'writing', show_progress and len(chunks) > 1):
        for frame in reader.get_batch(chunk).asnumpy():
            if suffix == '.gif':
                height = round(frame.shape[0] * GIF_WIDTH / frame.shape[1])
                frame = cv2.resize(frame, (GIF_WIDTH, height), interpolation=cv2.INTER_AREA)
                frames_out.append(draw_caption(frame, lines))
                continue
            if writer is None:
                writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*WRITERS[suffix]), fps,
                                         (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise DemoError(f'OpenCV cannot write {path} (codec {WRITERS[suffix]})')
            writer.write(cv2.cvtColor(draw_caption(frame, lines), cv2.COLOR_RGB2BGR))
    if writer is not None:
        writer.release()
    if suffix == '.gif':
        from PIL import Image

        images = [Image.fromarray(f) for f in frames_out]
        images[0].save(path, save_all=True, append_images=images[1:],
                       duration=int(1000 * step / fps), loop=0)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        description='Recognise the action in a video with a SmallBig (or any MMAction2 3D) '
                    'recognizer and print the top-k classes')
    parser.add_argument('config', help='recognizer config file')
    parser.add_argument('video', help='video file (mp4, avi, webm, ...)')
    parser.add_argument('--checkpoint', help='trained weights; without them the model is '
                        'random and only shows that the pipeline runs')
    parser.add_argument('--labels', help='label map: one class name per line '
                        '(e.g. demo/label_map_k400.txt); without it classes are numbers')
    parser.add_argument('--out', help='also write the video with the predictions drawn on '
                        'it: a .mp4, .avi or .gif file')
    parser.add_argument('--topk', type=int, default=5, help='classes to print (default 5)')
    parser.add_argument('--pipeline', choices=['val', 'test'], default='val',
                        help="the config's pipeline whose transforms are used: val (one "
                        'center crop per window, default) or test (e.g. three crops)')
    parser.add_argument('--max-windows', type=int, default=10,
                        help='at most this many windows along the video (default 10)')
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.backbone.depth=23')
    args = parser.parse_args(argv)
    if args.topk < 1 or args.max_windows < 1:
        parser.error('--topk and --max-windows must be at least 1')
    return args


def run(args: argparse.Namespace, echo: Callable[[str], None] = print) -> Prediction:
    """Runs the demo for parsed arguments; returns the prediction.

    Raises:
        DemoError: for a bad input (missing or unreadable file, label map that does not
            match the model).
    """
    if args.out:
        check_output_path(args.out)
    labels = load_labels(args.labels) if args.labels else None
    reader = open_video(args.video)
    model, cfg = build_recognizer(args.config, args.checkpoint, args.cfg_options, args.device)
    num_classes = cfg.model.cls_head.get('num_classes')
    if labels is not None and num_classes is not None and len(labels) != num_classes:
        raise DemoError(f'the label map {args.labels} has {len(labels)} names but the model '
                        f'predicts {num_classes} classes')
    pipeline = cfg.get(f'{args.pipeline}_pipeline') or \
        cfg[f'{args.pipeline}_dataloader'].dataset.pipeline
    prediction = recognize(model, reader, pipeline, args.max_windows, not args.no_progress)
    top = prediction.top_k(args.topk)
    echo(f'Top-{len(top)} of {args.video} ({len(prediction.windows)} window'
         f'{"s" * (len(prediction.windows) > 1)} of {prediction.clip_len} frames):')
    for rank, (index, score) in enumerate(top, start=1):
        name = labels[index] if labels else f'class {index}'
        echo(f'{rank:>3}. {name:<40} {score:.4f}')
    lines = caption_lines(top[:3], labels)
    if args.out:
        write_video(reader, args.out, lines, not args.no_progress)
        echo(f'wrote {args.out}')
    return prediction


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry: prints the top-k classes; exits with a message on bad input."""
    from ..weights import CheckpointError

    args = parse_args(argv)
    try:
        run(args)
    except (DemoError, CheckpointError) as err:
        sys.exit(f'error: {err}')


__all__ = ['DemoError', 'Prediction', 'RandomWeightsWarning', 'build_recognizer', 'load_labels',
           'main', 'open_video', 'recognize', 'run', 'split_pipeline', 'window_starts',
           'write_video']
