"""Recognise the action in a video file and print the top-k classes (see ``--help``).

Example:
    python tools/demo.py CONFIG demo/demo.mp4 --labels demo/label_map_k400.txt \\
        [--checkpoint CHECKPOINT] [--out out.gif]

    with CONFIG e.g.
    configs/recognition/smallbig/smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py
"""
from smallbig_mm.mmaction.demo import main

if __name__ == '__main__':
    main()
