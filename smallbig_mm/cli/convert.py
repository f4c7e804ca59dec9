"""Convert a SmallBig-ResNet checkpoint between layouts: timm, MMAction2, reference.

Examples:
    # a reference SmallBigNet checkpoint (module.-prefixed) -> an MMAction2 checkpoint
    smallbig-convert ref_best.pth smallbig_r50_k400.pth --to mmaction
    # an MMAction2 checkpoint -> timm weights as safetensors
    smallbig-convert epoch_100.pth smallbig_r50.safetensors --to timm
    # an MMAction2 checkpoint -> a Hugging Face Hub style folder (timm local-dir: / hf-hub:)
    smallbig-convert epoch_100.pth smallbig_r50_k400 --to hf

Reading is always safe (``weights_only=True``). The output is a new file unless
``--force``, never the input, written atomically with the umask's modes; a name without
a suffix is written in ``torch.save`` format. Errors end in one ``error: ...`` line (exit
status 1; 2 for usage), with the traceback under ``--log-level DEBUG``. The logic lives
in :func:`smallbig_mm.weights.convert_checkpoint`.
"""

import argparse
from typing import List, Optional

from ..utils.files import check_output_path
from ..weights import LAYOUTS, convert_checkpoint
from ..weights.hub import write_hub_folder
from ..weights.meta_files import read_label_map
from .arguments import key_value
from .errors import add_log_level_argument, tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='smallbig-convert',
        description='Convert a SmallBig-ResNet checkpoint between the timm, MMAction2 and '
        'reference (xhl-video/SmallBigNet) layouts.',
    )
    parser.add_argument('src', help='source checkpoint (.pth-style or .safetensors)')
    parser.add_argument(
        'dst',
        help='output file: .safetensors writes safetensors, any other '
        'name (with or without a suffix) torch.save; with --to hf '
        'a folder',
    )
    parser.add_argument(
        '--to',
        required=True,
        choices=LAYOUTS + ('hf',),
        help='target layout; hf: a Hugging Face Hub style folder (config.json, '
        'model.safetensors, README.md) for timm local-dir: / hf-hub:',
    )
    hub = parser.add_argument_group('--to hf')
    hub.add_argument(
        '--model-arg',
        type=key_value,
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='architecture argument overriding the '
        'checkpoint config / state dict (JSON values), e.g. '
        'big_kernels=[[3,3,3],[3,3,3],[null,3,3]]',
    )
    record = parser.add_argument_group('the weights record (every target)')
    record.add_argument(
        '--config',
        help='the MMAction2 config the weights were trained with: '
        'the recorded input, classes and provenance come from it (default: the '
        "checkpoint's record, else its meta['cfg'])",
    )
    record.add_argument(
        '--input',
        type=key_value,
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='input record overrides: num_frames, '
        'frame_interval, sampling, test_crop, train_crop, resize_short_side, mean, '
        'std (0-255, or 0-1 when all <= 1), channel_order, test_clips, test_crops',
    )
    record.add_argument('--labels', help='label map: one class name per line, in label order')
    hub.add_argument(
        '--license',
        default=None,
        help='license of the weights (Hub identifier, e.g. apache-2.0); default: '
        'not stated in the card',
    )
    hub.add_argument('--base-model', help='Hub id of the weights these were fine-tuned from')
    parser.add_argument(
        '--from',
        dest='source_layout',
        default='auto',
        choices=('auto',) + LAYOUTS,
        help='source layout (default: detected from the keys)',
    )
    parser.add_argument(
        '--force', action='store_true', help='replace an existing dst (never src itself)'
    )
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def convert(args: argparse.Namespace) -> int:
    """Converts ``args.src`` as the command line says and prints what it did."""
    if args.to == 'hf':
        summary = write_hub_folder(
            args.src,
            args.dst,
            dict(args.model_arg),
            dict(args.input),
            args.license,
            read_label_map(args.labels) if args.labels else None,
            config_meta(args.config) if args.config else None,
            args.base_model,
            force=args.force,
        )
    else:
        check_output_path(args.dst, args.force, inputs=(args.src,))
        summary = convert_checkpoint(
            args.src,
            args.dst,
            args.to,
            args.source_layout,
            force=args.force,
            meta=config_meta(args.config) if args.config else None,
            input_values=dict(args.input),
            classes=read_label_map(args.labels) if args.labels else None,
        )
    print(summary.summary())
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the tool; returns the exit status (0 ok, 1 error, 2 usage)."""
    return tool_main(convert, parse_args, argv)


def config_meta(path: str):
    """The record a config implies (needs the mmaction extra, imported only here)."""
    from ..mmaction.config_scope import meta_of_config_file

    return meta_of_config_file(path)
