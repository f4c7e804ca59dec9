"""Recognise the action in a video file and print the top-k classes (see ``--help``).

Example:
    python tools/demo.py CONFIG demo/demo.mp4 --labels demo/label_map_k400.txt \\
        [--checkpoint CHECKPOINT] [--out out.gif]
"""
from smallbig_mm.cli.demo import main

if __name__ == '__main__':
    main()
