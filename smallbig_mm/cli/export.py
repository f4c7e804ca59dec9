"""Export a clip classifier to ONNX and check it with onnxruntime.

Example:
    smallbig-export configs/recognition/smallbig/<config>.py --checkpoint epoch_20.pth \\
        --out smallbig.onnx
    smallbig-export smallbig_resnet50 --checkpoint weights.safetensors --out smallbig.onnx

The file maps clips (N, 3, T, H, W) to scores (N, classes) for any N and T (H = W =
``--size``). onnxruntime then runs it at T and T/2 frames against PyTorch; a maximum
relative difference above 1e-4 fails the run and leaves no file. Needs
``pip install 'smallbig-mm[deploy]'``; a timm name does not need MMEngine.
"""

import argparse
import contextlib
import os
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch

from ..deploy.clip_models import ExportError
from ..utils.files import check_output_path
from ..weights.errors import CheckpointError
from .arguments import key_value
from .errors import reported_errors
from .numbers import int_range

TOLERANCE = 1e-4
"""The largest relative difference between onnxruntime and PyTorch accepted."""


def newest_onnx_opset() -> Optional[int]:
    """The newest opset the installed ``onnx`` knows (None without ``onnx``)."""
    try:
        import onnx
    except ImportError:
        return None
    return int(onnx.defs.onnx_opset_version())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a SmallBig clip classifier (MMAction2 config or timm model name) '
        'to ONNX with dynamic batch and frames, and check it with onnxruntime'
    )
    parser.add_argument(
        'model',
        metavar='CONFIG_OR_TIMM_NAME',
        help='an MMAction2 config (.py) or a timm model name, e.g. smallbig_resnet50',
    )
    parser.add_argument(
        '--checkpoint',
        help='weights to load (any SmallBig layout: '
        'MMAction2, timm, .pth or .safetensors); default: initial weights',
    )
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument(
        '--frames',
        type=int,
        default=None,
        help="frames T of the example clip (default: the weights' record, else "
        '8); any T runs afterwards',
    )
    parser.add_argument(
        '--size',
        type=int,
        default=None,
        help='height and width of the clips, fixed in the file (default: the '
        "weights' recorded test crop, else 224)",
    )
    parser.add_argument(
        '--opset',
        type=int,
        default=18,
        help='ONNX opset, 18 or newer (default 18; the file is checked to have it)',
    )
    parser.add_argument(
        '--num-classes',
        type=int_range(1, 100000),
        help="timm names: classes of the classifier (default: the checkpoint's, else 400)",
    )
    parser.add_argument(
        '--model-kwargs',
        nargs='+',
        type=key_value,
        default=[],
        metavar='KEY=VALUE',
        help='timm names: arguments of timm.create_model, as Python literals, '
        'e.g. base_channels=32 "big_kernels=((3,3,3),(3,3,3),(None,3,3))"',
    )
    parser.add_argument('--force', action='store_true', help='replace an existing --out file')
    parser.add_argument(
        '--log-level',
        choices=('DEBUG', 'INFO'),
        default='INFO',
        help='DEBUG shows the exporter output and tracebacks of errors',
    )
    args = parser.parse_args(argv)
    if args.frames is not None and not 2 <= args.frames <= 256:
        parser.error(
            f'--frames must be 2..256, got {args.frames} (the example clip only: '
            'torch.export would fix a dimension whose example is 1; any T runs '
            'afterwards, 1 included)'
        )
    if args.size is not None and args.size > 1024:
        parser.error(f'--size must be at most 1024, got {args.size}')
    newest = newest_onnx_opset()
    if args.opset < 18 or (newest is not None and args.opset > newest):
        parser.error(
            f"--opset {args.opset}: torch's exporter writes opset 18 and newer"
            + (f', and the installed onnx knows opsets up to {newest}' if newest else '')
            + f'; use --opset 18{f"..{newest}" if newest else " or above"}'
        )
    if args.size is not None and args.size < 32:
        parser.error(f'--size must be >= 32 (the network downsamples by 32), got {args.size}')
    args.model_kwargs = dict(args.model_kwargs)
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must name a .onnx file, got {args.out}')
    return args


def recorded_shape(
    clip_model, frames: Optional[int], size: Optional[int], source: str
) -> Tuple[int, int]:
    """(frames, size): the given ones, else the weights' record (frames per clip, square
    test crop), else 8 and 224; a given value that differs is reported in one line."""
    import logging

    from ..weights.meta import report_overrides

    meta = clip_model.weights_meta
    crop = meta.input.test_crop if meta is not None else None
    if crop is not None and crop[0] != crop[1] and size is None:
        raise ExportError(
            f'{source}: the weights record a {crop[0]}x{crop[1]} (h x w) test '
            'crop; the exported file takes square clips: pass --size'
        )
    chosen = report_overrides(
        source,
        {
            'frames': (frames, meta.input.num_frames if meta is not None else None),
            'size': (size, crop[0] if crop is not None else None),
        },
        logging.getLogger(__name__),
    )
    return chosen['frames'] or 8, chosen['size'] or 224


def check_lengths(frames: int) -> List[int]:
    """The clip lengths onnxruntime is checked at: T and T/2 (T and 2T when T is 1)."""
    return [frames, frames // 2] if frames > 1 else [1, 2]


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    debug = args.log_level == 'DEBUG'
    with reported_errors(quiet=not debug), _quiet(not debug):
        check_output_path(args.out, args.force, inputs=(args.checkpoint, args.model))
        if (
            args.checkpoint is not None
            and not _is_file(args.checkpoint)
            and not os.path.isfile(os.path.join(args.checkpoint, 'config.json'))
        ):
            raise CheckpointError(
                f'{args.checkpoint}: a folder without config.json; give the checkpoint file in '
                'it, or a hub folder'
                if os.path.isdir(args.checkpoint)
                else f'checkpoint file not found: {args.checkpoint}'
            )
        from ..deploy import ExportError, build_clip_model, export_onnx, onnx_max_rel_diff

        clip_model = build_clip_model(
            args.model, args.checkpoint, args.num_classes, args.model_kwargs
        )
        args.frames, args.size = recorded_shape(
            clip_model, args.frames, args.size, args.checkpoint or args.model
        )
        torch.manual_seed(0)
        lengths = check_lengths(args.frames)
        clips = [torch.randn(2, 3, t, args.size, args.size) for t in lengths]
        diffs: List[float] = []

        def verify(path: str) -> None:
            diffs.extend(onnx_max_rel_diff(path, clip_model.module, clips))
            worst = max(diffs)
            if worst > TOLERANCE:
                raise ExportError(
                    'onnxruntime differs from PyTorch by '
                    + _diffs(lengths, diffs)
                    + f' (max relative difference, limit {TOLERANCE:g}); {args.out} not written'
                )

        export_onnx(
            clip_model.module,
            args.out,
            frames=args.frames,
            size=args.size,
            opset=args.opset,
            force=args.force,
            metadata=dict(clip_model.metadata(), provenance=export_provenance(args)),
            verify=verify,
        )
    print(
        f'wrote {args.out}: clips (N, 3, T, {args.size}, {args.size}) -> scores '
        f'(N, {clip_model.num_classes}) {clip_model.scores}; N and T dynamic; opset '
        f'{args.opset}'
    )
    print(
        f'input: RGB {clip_model.pixel_range} pixels normalised with mean '
        f'{clip_model.mean} and std {clip_model.std}'
    )
    if args.checkpoint is None:
        print('note: no --checkpoint: the file holds initial (untrained) weights')
    print(
        f'onnxruntime vs PyTorch: max relative difference {_diffs(lengths, diffs)} '
        f'(limit {TOLERANCE:g})'
    )


def export_provenance(args: argparse.Namespace) -> str:
    """The file's provenance as JSON (``metadata_props['provenance']``): the checkpoint's
    SHA-256, the config's (or the timm name) and every option that changes the file."""
    import json

    from ..utils.provenance import file_identity, make_provenance

    def identity(path: str) -> Dict[str, Any]:  # a hub folder: its weights; no local path
        weights = os.path.join(path, 'model.safetensors') if os.path.isdir(path) else path
        return dict(
            file_identity(weights, content=True), path=os.path.basename(os.path.normpath(path))
        )

    inputs: Dict[str, Any] = dict(
        model=identity(args.model) if os.path.isfile(args.model) else args.model
    )
    if args.checkpoint is not None:
        inputs['checkpoint'] = identity(args.checkpoint)
    return json.dumps(
        make_provenance(
            'smallbig-export',
            inputs,
            dict(
                frames=args.frames,
                size=args.size,
                opset=args.opset,
                num_classes=args.num_classes,
                model_kwargs=args.model_kwargs,
            ),
        )
    )


def _diffs(lengths: Sequence[int], diffs: Sequence[float]) -> str:
    return ', '.join(f'{d:.2e} at T={t}' for t, d in zip(lengths, diffs))


def _is_file(path: str) -> bool:
    import os.path as osp

    return osp.isfile(path)


@contextlib.contextmanager
def _quiet(enable: bool) -> Iterator[None]:
    """Keeps the exporter's warnings off the console unless ``--log-level DEBUG``."""
    if not enable:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield
