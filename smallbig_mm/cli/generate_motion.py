"""Write the built-in smooth-vs-shuffled motion dataset (mp4 clips + MMAction2 lists).

Examples:
    smallbig-generate-motion                                   # data/smallbig_motion
    smallbig-generate-motion --out-dir /tmp/m --num-train 64 --seed 1

A complete dataset made with the same settings is reused; any other non-empty
``--out-dir`` is refused unless ``--overwrite``. The dataset is built in a temporary
folder beside ``--out-dir`` and moved into place at the end; files and folders get the
umask's modes. Errors end in one ``error: ...`` line (exit status 1; 2 for a setting
out of range), with the traceback under ``--log-level DEBUG``.
"""
import argparse
import sys
import time
from typing import List, Optional

from ..data import MotionSettings, generate_motion_dataset
from ..utils.errors import UsageError
from .errors import add_log_level_argument, exit_status

DEFAULTS = MotionSettings()


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog='smallbig-generate-motion',
        description='Generate the smooth-vs-shuffled motion dataset: class 0 a square moving '
                    'smoothly, class 1 the same frames shuffled. A complete dataset made '
                    'with the same settings is reused; any other non-empty output folder '
                    'is refused unless --overwrite is given.')
    parser.add_argument('--out-dir', default='data/smallbig_motion',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--num-train', type=int, default=DEFAULTS.num_train,
                        help='training clips (default: %(default)s)')
    parser.add_argument('--num-val', type=int, default=DEFAULTS.num_val,
                        help='validation clips (default: %(default)s)')
    parser.add_argument('--num-frames', type=int, default=DEFAULTS.num_frames,
                        help='frames per clip, >= 4 (default: %(default)s)')
    parser.add_argument('--size', type=int, default=DEFAULTS.size,
                        help='frame height and width, even, >= 16 (default: %(default)s)')
    parser.add_argument('--square', type=int, default=DEFAULTS.square,
                        help='side of the moving square in pixels (default: %(default)s)')
    parser.add_argument('--step', type=float, default=DEFAULTS.step,
                        help='motion per frame as a fraction of --size (default: %(default)s)')
    parser.add_argument('--noise', type=float, default=DEFAULTS.noise,
                        help='per-frame pixel noise std in grey levels (default: %(default)s)')
    parser.add_argument('--fps', type=int, default=DEFAULTS.fps,
                        help='frame rate stored in the files (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=DEFAULTS.seed,
                        help='random seed of the dataset (default: %(default)s)')
    parser.add_argument('--overwrite', action='store_true',
                        help="replace the generator's files in a non-empty --out-dir")
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Generates (or reuses) the dataset and prints where it is; returns the exit status."""
    args = parse_args(argv)
    settings = MotionSettings(
        num_train=args.num_train, num_val=args.num_val, num_frames=args.num_frames,
        size=args.size, square=args.square, step=args.step, noise=args.noise, fps=args.fps,
        seed=args.seed)

    def generate() -> int:
        try:
            settings.validate()
        except ValueError as err:
            raise UsageError(f'{err} (see --help)') from err
        start = time.perf_counter()
        data = generate_motion_dataset(args.out_dir, settings, overwrite=args.overwrite)
        if data.reused:
            print(f'Reusing the motion dataset in {data.root} (same settings).')
        else:
            print(f'Wrote {settings.num_train} training and {settings.num_val} validation '
                  f'clips to {data.root} in {time.perf_counter() - start:.1f} s.')
        print(f'Annotations: {data.train_ann}, {data.val_ann}; label map: {data.label_map}')
        return 0

    return exit_status(generate, quiet=args.log_level != 'DEBUG')


def console_main() -> None:
    """The ``smallbig-generate-motion`` console script."""
    sys.exit(main())


if __name__ == '__main__':
    console_main()
