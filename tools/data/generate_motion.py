"""Writes the built-in smooth-vs-shuffled motion dataset (mp4 clips + MMAction2 lists).

Example:
    python tools/data/generate_motion.py                     # data/smallbig_motion
    python tools/data/generate_motion.py --out-dir /tmp/m --num-train 64 --seed 1
"""
import argparse
import sys
import time
from typing import List, Optional

from smallbig_mm.data import MotionSettings, generate_motion_dataset

DEFAULTS = MotionSettings()


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
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
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Generates (or reuses) the dataset and prints where it is; returns the exit status."""
    args = parse_args(argv)
    settings = MotionSettings(
        num_train=args.num_train, num_val=args.num_val, num_frames=args.num_frames,
        size=args.size, square=args.square, step=args.step, noise=args.noise, fps=args.fps,
        seed=args.seed)
    start = time.perf_counter()
    try:
        data = generate_motion_dataset(args.out_dir, settings, overwrite=args.overwrite)
    except (ValueError, FileExistsError) as err:
        print(f'generate_motion.py: error: {err}', file=sys.stderr)
        return 2
    if data.reused:
        print(f'Reusing the motion dataset in {data.root} (same settings).')
    else:
        print(f'Wrote {settings.num_train} training and {settings.num_val} validation clips '
              f'to {data.root} in {time.perf_counter() - start:.1f} s.')
    print(f'Annotations: {data.train_ann}, {data.val_ann}; label map: {data.label_map}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
