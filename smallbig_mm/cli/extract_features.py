"""Pooled backbone features of whole videos: ``smallbig-extract-features`` /
``tools/misc/extract_features.py``.

For each video, ``OUT/<stem>.npy`` holds the features of its windows, shape
(windows, feature width): the classifier's input (the head's average pool of the
backbone map), averaged over the crop views. ``OUT/<stem>.json`` lists the windows
(first and last-plus-one frame, the frames used), the frame rate and the settings. Both
are written atomically, the JSON last: a video with both files is finished and skipped
on a rerun. Unreadable videos are reported (one line each) and the others go on; the
exit status is 1 if any failed.

Under ``torchrun`` the list is sharded over the processes (video ``i`` goes to rank
``i % world_size``), which meet at the end over gloo to agree on the exit status.

Example:
    smallbig-extract-features CONFIG CKPT videos.txt --out features/ --stride 16
    python -m torch.distributed.run --nproc_per_node 2 tools/misc/extract_features.py \\
        CONFIG CKPT videos.txt --out features/
"""
import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ..utils.errors import UserError
from ..utils.files import atomic_output
from .arguments import positive
from .errors import add_log_level_argument, reported_errors
from .process_group import leave_process_group

LIST_SUFFIXES = ('.txt', '.list')
"""A VIDEO_OR_LIST argument with one of these suffixes is a list, one video per line."""


class ExtractError(UserError, RuntimeError):
    """A problem with the inputs as a whole (not one video), with the fix."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        description='Write the pooled backbone features of every window of videos')
    parser.add_argument('config', help='recognizer config file')
    parser.add_argument('checkpoint', help='trained weights')
    parser.add_argument('videos', help='a video file, or a .txt list of video files (one '
                        "per line; relative paths are relative to the list's folder)")
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--clip-len', type=positive,
                        help="frames per window (default: the pipeline's sampler)")
    parser.add_argument('--interval', type=positive, help='frames between the frames of a '
                        "window (default: the pipeline's sampler)")
    parser.add_argument('--stride', type=positive, help='frames between window starts '
                        '(default: clip-len x interval, windows side by side)')
    parser.add_argument('--batch', type=positive, default=8, help='windows per forward pass')
    parser.add_argument('--crop', choices=['center', 'three'],
                        help="replace the pipeline's crop (default: the pipeline's own)")
    parser.add_argument('--pipeline', choices=['val', 'test'], default='val')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--force', action='store_true',
                        help='recompute videos whose features are already in --out')
    parser.add_argument('--no-progress', action='store_true')
    add_log_level_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.backbone.depth=23')
    return parser.parse_args(argv)


def read_video_list(source: str) -> List[str]:
    """The videos named by ``source``: itself, or the lines of a list file.

    Raises:
        ExtractError: a missing or empty list, or two videos with the same stem (their
            outputs would collide).
    """
    if Path(source).suffix.lower() not in LIST_SUFFIXES:
        videos = [source]
    else:
        if not os.path.isfile(source):
            raise ExtractError(f'video list not found: {source}')
        folder = Path(source).parent
        with open(source, encoding='utf-8') as f:
            videos = [str(folder / line.strip()) for line in f if line.strip()]
        if not videos:
            raise ExtractError(f'video list {source} is empty: it needs one video per line')
    stems = {}
    for video in videos:
        stem = Path(video).stem
        if stem in stems:
            raise ExtractError(f'{stems[stem]} and {video} would both write {stem}.npy; '
                               'rename one of them')
        stems[stem] = video
    return videos


def outputs(out_dir: str, video: str):
    """``(features .npy, index .json)`` paths of ``video`` in ``out_dir``."""
    stem = Path(video).stem
    return os.path.join(out_dir, f'{stem}.npy'), os.path.join(out_dir, f'{stem}.json')


def finished(out_dir: str, video_path: str, args: argparse.Namespace) -> bool:
    """Whether ``video_path``'s features are in ``out_dir``, made with these settings.

    Raises:
        ExtractError: they are there but from another config, checkpoint, crop or window
            setting (a rerun must not mix them with new ones); ``--force`` recomputes.
    """
    features_path, index_path = outputs(out_dir, video_path)
    if args.force or not (os.path.exists(features_path) and os.path.exists(index_path)):
        return False
    with open(index_path, encoding='utf-8') as f:
        index = json.load(f)
    wanted = dict(config=os.path.abspath(args.config), checkpoint=os.path.abspath(args.checkpoint),
                  crop=args.crop or 'pipeline', clip_len=args.clip_len, interval=args.interval,
                  stride=args.stride)
    differ = [f'{key} {index.get(key)!r} (now {value!r})' for key, value in wanted.items()
              if value is not None and index.get(key) != value]
    if differ:
        raise ExtractError(f'{index_path}: these features were made with other settings: '
                           f'{"; ".join(differ)}; write to a new --out folder, or pass --force '
                           'to recompute them')
    return True


def extract_one(model, video_path: str, out_dir: str, args: argparse.Namespace) -> None:
    """Writes the features and index of one video (the index last, marking it done)."""
    from ..apis import infer_video, open_video

    video = open_video(video_path)
    clip_len = args.clip_len or model.clip_len
    interval = args.interval or model.interval
    stride = args.stride or clip_len * interval
    result = infer_video(model, video, clip_len, interval, stride, batch=args.batch,
                         with_features=True)
    features_path, index_path = outputs(out_dir, video_path)
    with atomic_output(features_path, force=True, inputs=(video_path,)) as tmp:
        np.save(tmp, result.features.astype(np.float32))
    index = dict(result.index(), clip_len=clip_len, interval=interval, stride=stride,
                 crop=args.crop or 'pipeline', feature_shape=list(result.features.shape),
                 config=os.path.abspath(args.config), checkpoint=os.path.abspath(args.checkpoint))
    with atomic_output(index_path, force=True, inputs=(video_path,)) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(index, f, indent=1)


def _dist():
    """``(rank, world_size)``; joins the gloo group under torchrun."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world == 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group('gloo')
    return dist.get_rank(), world


def _failures_everywhere(failed: int, world: int) -> int:
    if world == 1:
        return failed
    import torch
    import torch.distributed as dist

    total = torch.tensor([failed])
    dist.all_reduce(total)
    leave_process_group()
    return int(total)


def run(args: argparse.Namespace) -> int:
    """Extracts every video of this process's shard; returns the failures of all ranks."""
    from ..apis import VideoReadError, from_config
    from ..apis.inference import progress

    rank, world = _dist()
    videos = read_video_list(args.videos)
    if not os.path.isfile(args.checkpoint):
        raise ExtractError(f'checkpoint file not found: {args.checkpoint}')
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ExtractError(f'--out {args.out} is a file; give a folder')
    mine = videos[rank::world]
    todo = [v for v in mine if not finished(args.out, v, args)]
    skipped = len(mine) - len(todo)
    if skipped:
        print(f'[rank {rank}] skipping {skipped} finished video(s) in {args.out}',
              file=sys.stderr)
    failed = 0
    if todo:
        model = from_config(args.config, args.checkpoint, args.crop, args.pipeline,
                            args.cfg_options, args.device)
        for video in progress(todo, f'[rank {rank}] videos', not args.no_progress):
            try:
                extract_one(model, video, args.out, args)
            except VideoReadError as err:
                failed += 1
                print(f'\nerror: {err}', file=sys.stderr, flush=True)
    failed = _failures_everywhere(failed, world)
    if rank == 0:
        print(f'features of {len(videos) - failed} of {len(videos)} video(s) in {args.out}'
              + (f'; {failed} could not be read (above)' if failed else ''))
    return failed


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry; exit 1 if any video failed, one ``error:`` line per problem."""
    args = parse_args(argv)
    with reported_errors(quiet=args.log_level != 'DEBUG'):
        failed = run(args)
    if failed:
        raise SystemExit(1)

