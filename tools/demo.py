"""Recognise the action in a video file and print the top-k classes (see ``--help``).

Example:
    python tools/demo.py CONFIG demo/demo.mp4 --labels demo/label_map_k400.txt \\
        [--checkpoint CHECKPOINT] [--out out.gif]
"""

import sys

from smallbig_mm.cli.launcher import main_demo as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
