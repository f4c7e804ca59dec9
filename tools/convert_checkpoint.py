"""Convert a SmallBig-ResNet checkpoint between layouts: timm, MMAction2, reference.

Examples:
    # a reference SmallBigNet checkpoint (module.-prefixed) -> an MMAction2 checkpoint
    python tools/convert_checkpoint.py ref_best.pth smallbig_r50_k400.pth --to mmaction
    # an MMAction2 checkpoint -> timm weights as safetensors
    python tools/convert_checkpoint.py epoch_100.pth smallbig_r50.safetensors --to timm
    # an MMAction2 checkpoint -> a Hugging Face Hub style folder (timm local-dir: / hf-hub:)
    python tools/convert_checkpoint.py epoch_100.pth smallbig_r50_k400 --to hf

Reading is always safe (``weights_only=True``); an existing output is kept unless
``--force``. The logic lives in :func:`smallbig_mm.weights.convert_checkpoint`.
"""
import argparse
import json
import sys
from typing import List, Optional

from smallbig_mm.weights import LAYOUTS, CheckpointError, convert_checkpoint
from smallbig_mm.weights.hub_folder import write_hub_folder


def _key_value(text: str):
    """``KEY=VALUE`` with VALUE read as JSON when it parses (numbers, lists, null)."""
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError(f'expected KEY=VALUE, got {text!r}')
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a SmallBig-ResNet checkpoint between the timm, MMAction2 and '
                    'reference (xhl-video/SmallBigNet) layouts.')
    parser.add_argument('src', help='source checkpoint (.pth-style or .safetensors)')
    parser.add_argument('dst', help='output file: .safetensors writes safetensors, any other '
                                    'suffix torch.save; with --to hf a folder')
    parser.add_argument('--to', required=True, choices=LAYOUTS + ('hf',),
                        help='target layout; hf: a Hugging Face Hub style folder (config.json, '
                             'model.safetensors, README.md) for timm local-dir: / hf-hub:')
    hub = parser.add_argument_group('--to hf')
    hub.add_argument('--model-arg', type=_key_value, action='append', default=[],
                     metavar='KEY=VALUE', help='architecture argument overriding the '
                     'checkpoint config / state dict (JSON values), e.g. '
                     'big_kernels=[[3,3,3],[3,3,3],[null,3,3]]')
    hub.add_argument('--input', type=_key_value, action='append', default=[],
                     metavar='KEY=VALUE', help='input spec: num_frames, frame_interval, '
                     'input_size, mean, std, crop_pct, resize_short_side, test_crop')
    hub.add_argument('--license', default='other',
                     help='license of the weights for the model card (default: other)')
    hub.add_argument('--training', default=None,
                     help='how and on what the weights were trained (default: from the '
                          'checkpoint meta, else "unknown")')
    parser.add_argument('--from', dest='source_layout', default='auto',
                        choices=('auto',) + LAYOUTS,
                        help='source layout (default: detected from the keys)')
    parser.add_argument('--force', action='store_true', help='overwrite an existing dst')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the converter; returns the exit status (0 ok, 1 error)."""
    args = parse_args(argv)
    try:
        if args.to == 'hf':
            summary = write_hub_folder(args.src, args.dst, dict(args.model_arg),
                                       dict(args.input), args.license, args.training,
                                       force=args.force)
        else:
            summary = convert_checkpoint(args.src, args.dst, args.to, args.source_layout,
                                         force=args.force)
    except (CheckpointError, FileExistsError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(summary.summary())
    return 0


if __name__ == '__main__':
    sys.exit(main())
