"""Pooled backbone features of whole videos: ``smallbig-extract-features`` /
``tools/misc/extract_features.py``.

VIDEOS is a video, a plain list (one path per line, relative to the list's folder), or an
MMAction2 annotation list of the config's ``--pipeline`` dataset: ``path label`` lines
under its ``data_prefix`` (``VideoDataset``), or ``folder total_frames label`` lines of
frame folders (``RawframeDataset``); see :mod:`smallbig_mm.apis.video_lists`. Each
video's output name is its path relative to the list's root without the suffix, so
``a/clip.mp4`` writes ``OUT/a/clip.npy`` and never meets ``b/clip.mp4``.

``OUT/<name>.npy`` holds the features of its windows, shape (windows, feature width): the
classifier's input (the head's average pool of the backbone map), averaged over the crop
views. ``OUT/<name>.json`` (the index) lists the windows (first and last-plus-one frame,
the frames used), the frame rate, the settings and the *provenance*: the video's path,
size and modification time, the checkpoint's SHA-256, the merged config's digest and
every option that changes the features (:mod:`smallbig_mm.utils.provenance`).

A rerun skips a video only when its index is complete, its provenance equals the one it
would write and the ``.npy`` is the one the index names (SHA-256). Otherwise: features
from other inputs or settings are refused in one line naming what differs (``--force``
recomputes them); a video whose extraction was killed (index written first, marked
incomplete) is recomputed. Files the tool did not write (a ``.npy`` without an index, a
``.json`` that is not an index) are never replaced, even with ``--force``. Writes are
atomic. Unreadable videos are reported (one line each) and the others go on; the exit
status is 1 if any failed.

Under ``torchrun`` the videos to compute are sharded over the processes, which meet at
the end over gloo to agree on the exit status; rank 0 prints the summary.

Example:
    smallbig-extract-features CONFIG CKPT videos.txt --out features/ --stride 16
    smallbig-extract-features CONFIG CKPT data/kinetics400/kinetics400_val_list_videos.txt \\
        --out features/ --pipeline val
    python -m torch.distributed.run --nproc_per_node 2 tools/misc/extract_features.py \\
        CONFIG CKPT videos.txt --out features/
"""

import argparse
import json
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..apis.video_lists import VideoEntry, read_video_list
from ..apis.windows import MAX_CLIP_LEN
from ..utils.errors import UsageError, UserError
from ..utils.files import DiskFullError, atomic_output
from ..utils.noise import ignore_noisy_warnings
from ..utils.provenance import differences, file_identity, make_provenance, sha256_file, text_digest
from .arguments import positive
from .errors import add_log_level_argument, reported_errors
from .numbers import int_range
from .process_group import leave_process_group

TOOL = 'smallbig-extract-features'
"""The ``tool`` field of the indexes this tool writes (what marks a file as its own)."""


class ExtractError(UserError, RuntimeError):
    """A problem with the inputs as a whole (not one video), with the fix."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from ..mmaction.cfg_options import add_cfg_options_argument

    parser = argparse.ArgumentParser(
        description='Write the pooled backbone features of every window of videos'
    )
    parser.add_argument('config', help='recognizer config file')
    parser.add_argument('checkpoint', help='trained weights')
    parser.add_argument(
        'videos',
        help='a video file, or a .txt list: one video per line '
        "(relative to the list's folder), or an MMAction2 annotation list of "
        'the --pipeline dataset (paths under its data_prefix; rawframe lists '
        'for a RawframeDataset)',
    )
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--clip-len',
        type=int_range(1, MAX_CLIP_LEN),
        help="frames per window (default: the pipeline's sampler)",
    )
    parser.add_argument(
        '--interval',
        type=positive,
        help="frames between the frames of a window (default: the pipeline's sampler)",
    )
    parser.add_argument(
        '--stride',
        type=positive,
        help='frames between window starts (default: clip-len x interval, windows side by side)',
    )
    parser.add_argument('--batch', type=positive, default=8, help='windows per forward pass')
    parser.add_argument(
        '--crop',
        choices=['center', 'three'],
        help="replace the pipeline's crop (default: the pipeline's own)",
    )
    parser.add_argument(
        '--pipeline',
        choices=['val', 'test'],
        default='test',
        help="the config's pipeline whose sampler and transforms are used (default test, "
        "as the weights' record)",
    )
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--force',
        action='store_true',
        help='recompute features this tool wrote from other inputs or '
        'settings (never replaces files it did not write)',
    )
    parser.add_argument('--no-progress', action='store_true')
    add_log_level_argument(parser)
    add_cfg_options_argument(parser)
    return parser.parse_args(argv)


def outputs(out_dir: str, entry: VideoEntry) -> Tuple[str, str]:
    """``(features .npy, index .json)`` paths of ``entry`` in ``out_dir``."""
    base = os.path.join(out_dir, entry.name)
    return base + '.npy', base + '.json'


def video_identity(entry: VideoEntry) -> dict:
    """A video by path, size and mtime; a frame folder by path, frame count and mtime."""
    if entry.total_frames is None:
        return (
            file_identity(entry.path)
            if os.path.exists(entry.path)
            else dict(path=os.path.abspath(entry.path))
        )
    folder = dict(
        path=os.path.abspath(entry.path),
        total_frames=entry.total_frames,
        filename_tmpl=entry.filename_tmpl,
        start_index=entry.start_index,
    )
    if os.path.isdir(entry.path):
        folder['mtime_ns'] = os.stat(entry.path).st_mtime_ns
    return folder


def provenance(entry: VideoEntry, common: dict, settings: dict) -> dict:
    """What the features of ``entry`` depend on (see :mod:`smallbig_mm.utils.provenance`)."""
    return make_provenance(TOOL, dict(video=video_identity(entry), **common), settings)


def read_index(index_path: str) -> Optional[dict]:
    """The tool's index at ``index_path``; ``None`` if there is none.

    Raises:
        ExtractError: the file exists but is not an index of this tool (unreadable JSON,
            or another tool's or a person's file): it is never replaced.
    """
    if not os.path.lexists(index_path):
        return None
    try:
        with open(index_path, encoding='utf-8') as f:
            index = json.load(f)
    except (OSError, ValueError) as err:
        raise ExtractError(
            f'{index_path}: not a feature index of {TOOL} (cannot be read as '
            f'JSON: {err}); refusing to replace a file this tool did not write, '
            'even with --force: move it away or choose another --out'
        ) from None
    legacy = isinstance(index, dict) and {'windows', 'feature_shape'} <= set(index)
    if not isinstance(index, dict) or index.get('tool', TOOL if legacy else None) != TOOL:
        raise ExtractError(
            f'{index_path}: not a feature index of {TOOL}; refusing to replace '
            'a file this tool did not write, even with --force: move it away '
            'or choose another --out'
        )
    return index


def output_state(entry: VideoEntry, out_dir: str, wanted: dict, force: bool) -> str:
    """``'done'`` (reuse), ``'new'``, ``'unfinished'`` (killed run) or ``'replace'`` (--force).

    Raises:
        ExtractError: features from other inputs or settings (without ``force``), or a
            file in the way that this tool did not write (always).
    """
    features_path, index_path = outputs(out_dir, entry)
    index = read_index(index_path)
    if index is None:
        if os.path.lexists(features_path):
            raise ExtractError(
                f'{features_path} exists without the index {TOOL} writes '
                'first: a file this tool did not write; refusing to replace it, '
                'even with --force: move it away or choose another --out'
            )
        return 'new'
    if index.get('complete', 'windows' in index) is not True:
        return 'unfinished'
    changed = differences(index.get('provenance'), wanted)
    if not changed:
        if not os.path.exists(features_path):
            return 'unfinished'
        if index.get('features_sha256') in (None, sha256_file(features_path)):
            return 'done'
        changed = [f'{os.path.basename(features_path)} (changed since {TOOL} wrote it)']
    if force:
        return 'replace'
    raise ExtractError(
        f'{index_path}: these features were made from other inputs or settings: '
        f'{"; ".join(changed[:6])}; write to a new --out folder, or pass --force '
        'to recompute them'
    )


def write_index(index_path: str, index: dict) -> None:
    with atomic_output(index_path, force=True) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(index, f, indent=1)


def extract_one(
    model, entry: VideoEntry, out_dir: str, args: argparse.Namespace, record: dict
) -> None:
    """Writes one video's features: the index first (marked incomplete: the files are now
    the tool's), the features, then the complete index with the features' SHA-256."""
    from ..apis import infer_video, open_video
    from ..apis.video import open_frame_folder

    features_path, index_path = outputs(out_dir, entry)
    video = (
        open_video(entry.path)
        if entry.total_frames is None
        else open_frame_folder(
            entry.path, entry.total_frames, entry.filename_tmpl, entry.start_index
        )
    )
    os.makedirs(os.path.dirname(os.path.abspath(index_path)), exist_ok=True)
    write_index(index_path, dict(tool=TOOL, complete=False, provenance=record))
    clip_len = args.clip_len or model.clip_len
    interval = args.interval or model.interval
    stride = args.stride or clip_len * interval
    try:
        result = infer_video(
            model, video, clip_len, interval, stride, batch=args.batch, with_features=True
        )
        with atomic_output(features_path, force=True, inputs=(entry.path,)) as tmp:
            np.save(tmp, result.features.astype(np.float32))
    except BaseException:
        if not os.path.exists(features_path):  # nothing of ours left to claim
            os.remove(index_path)
        raise
    write_index(
        index_path,
        dict(
            tool=TOOL,
            complete=True,
            features=os.path.basename(features_path),
            features_sha256=sha256_file(features_path),
            provenance=record,
            **result.index(),
            clip_len=clip_len,
            interval=interval,
            stride=stride,
            crop=args.crop or 'pipeline',
            feature_shape=list(result.features.shape),
            config=os.path.abspath(args.config),
            checkpoint=os.path.abspath(args.checkpoint),
        ),
    )


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


def load_config(args: argparse.Namespace):
    """The config with ``--cfg-options`` merged (its digest is part of the provenance); a
    missing config is a usage error, one that fails to evaluate names file and line."""
    from ..mmaction.cfg_options import merge_cfg_options
    from .common import load_config as read_config

    cfg = read_config(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    return cfg


def plan(args: argparse.Namespace, cfg) -> Tuple[List[VideoEntry], Dict[str, List]]:
    """Every entry of the list, and the entries by state (see :func:`output_state`).

    All states are found before any model is built; refusals are one line naming the
    first refused output (and how many more).
    """
    dataset = dict(cfg.get(f'{args.pipeline}_dataloader', {}).get('dataset', {}))
    entries = read_video_list(args.videos, dataset)
    if not os.path.isfile(args.checkpoint):
        raise UsageError(f'checkpoint file not found: {args.checkpoint}')
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ExtractError(f'--out {args.out} is a file; give a folder')
    common = dict(
        checkpoint=file_identity(args.checkpoint, content=True),
        config=dict(path=os.path.abspath(args.config), digest=text_digest(cfg.to_dict())),
    )
    settings = dict(
        clip_len=args.clip_len,
        interval=args.interval,
        stride=args.stride,
        crop=args.crop,
        pipeline=args.pipeline,
        cfg_options=args.cfg_options,
        batch=args.batch,  # batched convs round differently (about 1e-6)
        device=args.device,
    )
    states: Dict[str, List] = dict(new=[], unfinished=[], replace=[], done=[])
    refused: List[str] = []
    for entry in entries:
        record = provenance(entry, common, settings)
        try:
            states[output_state(entry, args.out, record, args.force)].append((entry, record))
        except ExtractError as err:
            refused.append(str(err))
    if refused:
        more = f' (and {len(refused) - 1} more output(s) refused)' if len(refused) > 1 else ''
        raise ExtractError(refused[0] + more)
    return entries, states


def run(args: argparse.Namespace) -> int:
    """Extracts every video of this process's shard; returns the failures of all ranks."""
    from ..apis import VideoReadError, from_config
    from ..utils.progress import progress

    rank, world = _dist()
    cfg = load_config(args)
    entries, states = plan(args, cfg)
    if world > 1:  # every rank planned from the same files before any rank writes
        import torch.distributed as dist

        dist.barrier()
    todo = states['new'] + states['unfinished'] + states['replace']
    if rank == 0:
        for state, what in (
            ('done', 'skipping {} finished video(s) made from the same inputs and settings'),
            ('unfinished', 'recomputing {} video(s) whose extraction was interrupted'),
            ('replace', '--force: recomputing {} video(s) made from other inputs or settings'),
        ):
            if states[state]:
                print(f'{what.format(len(states[state]))} in {args.out}', file=sys.stderr)
    mine = todo[rank::world]
    failed = finished = 0
    if mine:
        model = from_config(
            args.config, args.checkpoint, args.crop, args.pipeline, args.cfg_options, args.device
        )
        for entry, record in progress(mine, 'videos', not args.no_progress):
            try:
                extract_one(model, entry, args.out, args, record)
                finished += 1
            except VideoReadError as err:
                failed += 1
                print(f'\nerror: {err}', file=sys.stderr, flush=True)
            except DiskFullError as err:
                raise DiskFullError(
                    f'{err}; the features of {finished + len(states["done"])} '
                    f'finished video(s) in {args.out} are kept, a rerun '
                    'continues with the rest'
                ) from None
    failed = _failures_everywhere(failed, world)
    if rank == 0:
        print(
            f'features of {len(entries) - failed} of {len(entries)} video(s) in {args.out}'
            + (f'; {failed} could not be read (above)' if failed else '')
        )
    return failed


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry; exit 1 if any video failed, one ``error:`` line per problem."""
    args = parse_args(argv)
    ignore_noisy_warnings(args.log_level)
    with reported_errors(quiet=args.log_level != 'DEBUG'):
        failed = run(args)
    if failed:
        raise SystemExit(1)
