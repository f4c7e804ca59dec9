"""Recognise the action in one video: ``smallbig-demo`` / ``tools/demo.py``.

Scores the video window by window with :mod:`smallbig_mm.apis` (the config's sampler and
transforms), prints the top-k video-level classes and optionally writes the video again
with the predictions drawn on it (atomically; an existing file only with ``--force``,
never the input).

Example:
    smallbig-demo configs/recognition/smallbig/smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py \\
        demo/demo.mp4 --labels demo/label_map_k400.txt --checkpoint CKPT --out out.gif
"""

import argparse
import logging
import os
from typing import Callable, List, Optional, Sequence

import torch

from ..apis.video_lists import read_lines
from ..apis.windows import MAX_CLIP_LEN
from ..utils.errors import UsageError, UserError
from ..utils.files import check_output_path
from ..utils.noise import ignore_noisy_warnings
from .arguments import positive
from .errors import reported_errors
from .numbers import int_range


class DemoError(UserError, RuntimeError):
    """A problem with the demo's inputs, with a message saying what to do."""


class DemoUsageError(UsageError):
    """A command-line argument of the demo that cannot work (exit status 2)."""


def load_labels(path: str) -> List[str]:
    """Reads a label map: one class name per line, in label order (blank lines ignored).

    Raises:
        DemoError: if the file is missing or holds no names.
    """
    if not os.path.isfile(path):
        raise DemoError(
            f'label map not found: {path} (a text file with one class name per '
            'line, e.g. demo/label_map_k400.txt)'
        )
    labels = [line.strip() for line in read_lines(path) if line.strip()]
    if not labels:
        raise DemoError(f'label map {path} is empty: it needs one class name per line')
    return labels


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from ..mmaction.cfg_options import add_cfg_options_argument

    parser = argparse.ArgumentParser(
        description='Recognise the action in a video with a SmallBig (or any MMAction2 3D) '
        'recognizer and print the top-k classes'
    )
    parser.add_argument('config', help='recognizer config file')
    parser.add_argument('video', help='video file (mp4, avi, webm, ...)')
    parser.add_argument(
        '--checkpoint',
        help='trained weights; without them the model is '
        'random and only shows that the pipeline runs',
    )
    parser.add_argument(
        '--labels',
        help='label map: one class name per line '
        '(e.g. demo/label_map_k400.txt); default: the class names the weights '
        'record, else class numbers',
    )
    parser.add_argument(
        '--out',
        help='also write the video with the predictions drawn on '
        'it: a .mp4, .avi or .gif file (refused if it exists, unless --force)',
    )
    parser.add_argument('--force', action='store_true', help='replace an existing --out file')
    parser.add_argument('--topk', type=positive, default=5, help='classes to print (default 5)')
    parser.add_argument(
        '--pipeline',
        choices=['val', 'test'],
        default='test',
        help="the config's pipeline whose sampler and transforms are used (default test, "
        "as MMAction2's demo and the weights' record)",
    )
    parser.add_argument(
        '--crop',
        choices=['center', 'three'],
        help="replace the pipeline's crop (default: the pipeline's own)",
    )
    parser.add_argument(
        '--clip-len',
        type=int_range(1, MAX_CLIP_LEN),
        help="frames per clip (default: the pipeline's sampler)",
    )
    parser.add_argument(
        '--interval',
        type=positive,
        help="frames between the frames of a clip (default: the pipeline's sampler)",
    )
    parser.add_argument(
        '--stride',
        type=positive,
        help='frames between window starts '
        '(default: at most --max-windows windows spread over the video)',
    )
    parser.add_argument(
        '--max-windows',
        type=positive,
        default=10,
        help='at most this many windows without --stride (default 10)',
    )
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument(
        '--log-level',
        choices=['DEBUG', 'INFO', 'WARNING', 'ERROR'],
        default='INFO',
        help='DEBUG shows tracebacks of user errors',
    )
    add_cfg_options_argument(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, echo: Callable[[str], None] = print):
    """Runs the demo for parsed arguments; returns the :class:`~smallbig_mm.apis.VideoResult`.

    Raises:
        DemoError, VideoReadError, ConfigModelError, CheckpointError, OutputExistsError:
            bad inputs (see :func:`main`).
    """
    from ..apis import from_config, infer_video, open_video
    from ..apis.render import caption_lines, output_suffix, write_video

    if not os.path.isfile(args.config):
        raise DemoUsageError(f'config file not found: {args.config}')
    if not os.path.lexists(args.video):
        raise DemoUsageError(f'video not found: {args.video}')
    if args.checkpoint is not None and not os.path.isfile(args.checkpoint):
        raise DemoUsageError(f'checkpoint file not found: {args.checkpoint}')
    if args.out:
        try:
            output_suffix(args.out)
            check_output_path(args.out, args.force, inputs=(args.video,))
        except UserError:
            raise
        except ValueError as err:  # a bad suffix
            raise DemoUsageError(str(err)) from None
    labels = load_labels(args.labels) if args.labels else None
    video = open_video(args.video)
    model = from_config(
        args.config, args.checkpoint, args.crop, args.pipeline, args.cfg_options, args.device
    )
    if labels is None:
        labels = model.classes  # recorded with the weights (label map or annotation folders)
    elif model.classes and labels != model.classes:
        logging.getLogger(__name__).warning(
            f'{args.labels}: used as given, though the weights record other class names '
            f'({", ".join(model.classes[:3])}, ...)'
        )
    if labels is not None and len(labels) != model.num_classes:
        raise DemoError(
            f'the label map {args.labels or "(recorded)"} has {len(labels)} names '
            f'but the model predicts {model.num_classes} classes'
        )
    result = infer_video(
        model,
        video,
        args.clip_len,
        args.interval,
        args.stride,
        args.max_windows,
        show_progress=not args.no_progress,
    )
    top = result.top_k(args.topk)
    clip_len = len(result.windows[0].frame_inds)
    count = len(result.windows)
    echo(
        f'Top-{len(top)} of {args.video} ({count} window{"s" * (count > 1)} of {clip_len} frames):'
    )
    for rank, (index, score) in enumerate(top, start=1):
        name = labels[index] if labels else f'class {index}'
        echo(f'{rank:>3}. {name:<40} {score:.4f}')
    if args.out:
        write_video(
            video, args.out, caption_lines(top[:3], labels), args.force, not args.no_progress
        )
        echo(f'wrote {args.out}')
    return result


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry: prints the top-k classes; one line on stderr for a bad input."""
    args = parse_args(argv)
    ignore_noisy_warnings(args.log_level)
    with reported_errors(quiet=args.log_level != 'DEBUG'):
        run(args)
