"""Write the built-in smooth-vs-shuffled motion dataset (mp4 clips + MMAction2 lists).

Examples:
    smallbig-generate-motion                                   # data/smallbig_motion
    smallbig-generate-motion --out-dir /tmp/m --num-train 64 --seed 1

A complete dataset made with the same settings is reused; any other non-empty
``--out-dir`` is refused unless ``--force`` (``--overwrite``, its older name, still
works). Every numeric flag is range-checked when parsed; a combination that would need
more than 4 GiB of memory for one clip, or more disk than is free, is refused before
anything is allocated or written. The dataset is built in a temporary folder beside ``--out-dir`` and moved into
place at the end; files and folders get the umask's modes. Errors end in one
``error: ...`` line (exit status 1; 2 for a setting out of range), with the traceback
under ``--log-level DEBUG``.
"""

import argparse
import time
from typing import List, Optional

from ..data import MotionSettings, generate_motion_dataset
from ..utils.errors import UsageError
from .errors import add_log_level_argument, tool_main
from .numbers import float_range, int_range

DEFAULTS = MotionSettings()
MAX_CLIPS = 1_000_000
MAX_SIZE = 2048
MAX_FRAMES = 1024
SETTINGS = (
    ('num_train', int_range(2, MAX_CLIPS), 'training clips'),
    ('num_val', int_range(2, MAX_CLIPS), 'validation clips'),
    ('num_frames', int_range(4, MAX_FRAMES), 'frames per clip'),
    ('size', int_range(16, MAX_SIZE), 'frame height and width, even'),
    ('square', int_range(1, MAX_SIZE - 1), 'side of the moving square in pixels'),
    ('step', float_range(1e-6, 1.0), 'motion per frame as a fraction of --size'),
    ('noise', float_range(0.0, 64.0), 'per-frame pixel noise std in grey levels'),
    ('fps', int_range(1, 1000), 'frame rate stored in the files'),
    ('seed', int_range(0, 2**63 - 1), 'random seed of the dataset'),
)
"""The generator's settings on the command line: (MotionSettings field, argparse type with
its range, meaning). A value outside the range is a usage error when parsed (exit 2);
combinations (the square's path, one clip's memory, the disk space) are checked before
anything is written."""


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog='smallbig-generate-motion',
        description='Generate the smooth-vs-shuffled motion dataset: class 0 a square moving '
        'smoothly, class 1 the same frames shuffled. A complete dataset made '
        'with the same settings is reused; any other non-empty output folder '
        'is refused unless --force is given.',
    )
    parser.add_argument(
        '--out-dir', default='data/smallbig_motion', help='output folder (default: %(default)s)'
    )
    for name, kind, meaning in SETTINGS:
        parser.add_argument(
            f'--{name.replace("_", "-")}',
            type=kind,
            default=getattr(DEFAULTS, name),
            help=f'{meaning} (default: %(default)s)',
        )
    parser.add_argument(
        '--force',
        action='store_true',
        help="replace the generator's files in a non-empty --out-dir",
    )
    parser.add_argument(
        '--overwrite', action='store_true', dest='force', help=argparse.SUPPRESS
    )  # the older name of --force
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def generate(args: argparse.Namespace) -> int:
    """Generates (or reuses) the dataset and prints where it is."""
    settings = MotionSettings(**{name: getattr(args, name) for name, _, _ in SETTINGS})

    try:
        settings.validate()
    except ValueError as err:
        raise UsageError(f'{err} (see --help)') from err
    start = time.perf_counter()
    data = generate_motion_dataset(args.out_dir, settings, overwrite=args.force)
    if data.reused:
        print(f'Reusing the motion dataset in {data.root} (same settings).')
    else:
        print(
            f'Wrote {settings.num_train} training and {settings.num_val} validation '
            f'clips to {data.root} in {time.perf_counter() - start:.1f} s.'
        )
    print(f'Annotations: {data.train_ann}, {data.val_ann}; label map: {data.label_map}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the tool; returns the exit status (0 ok, 1 error, 2 usage)."""
    return tool_main(generate, parse_args, argv)
