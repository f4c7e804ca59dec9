"""Convert a SmallBig-ResNet checkpoint between layouts: timm, MMAction2, reference.

Examples:
    # a reference SmallBigNet checkpoint (module.-prefixed) -> an MMAction2 checkpoint
    python tools/convert_checkpoint.py ref_best.pth smallbig_r50_k400.pth --to mmaction
    # an MMAction2 checkpoint -> timm weights as safetensors
    python tools/convert_checkpoint.py epoch_100.pth smallbig_r50.safetensors --to timm

Reading is always safe (``weights_only=True``); an existing output is kept unless
``--force``. The logic lives in :func:`smallbig_mm.weights.convert_checkpoint`.
"""
import argparse
import sys
from typing import List, Optional

from smallbig_mm.weights import LAYOUTS, CheckpointError, convert_checkpoint


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a SmallBig-ResNet checkpoint between the timm, MMAction2 and '
                    'reference (xhl-video/SmallBigNet) layouts.')
    parser.add_argument('src', help='source checkpoint (.pth-style or .safetensors)')
    parser.add_argument('dst', help='output file: .safetensors writes safetensors, any other '
                                    'suffix torch.save')
    parser.add_argument('--to', required=True, choices=LAYOUTS, help='target layout')
    parser.add_argument('--from', dest='source_layout', default='auto',
                        choices=('auto',) + LAYOUTS,
                        help='source layout (default: detected from the keys)')
    parser.add_argument('--force', action='store_true', help='overwrite an existing dst')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the converter; returns the exit status (0 ok, 1 error)."""
    args = parse_args(argv)
    try:
        summary = convert_checkpoint(args.src, args.dst, args.to, args.source_layout,
                                     force=args.force)
    except (CheckpointError, FileExistsError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(summary.summary())
    return 0


if __name__ == '__main__':
    sys.exit(main())
