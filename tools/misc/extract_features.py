"""Write pooled backbone features of every window of videos (see ``--help``).

Example:
    python tools/misc/extract_features.py CONFIG CKPT videos.txt --out features/
"""
from smallbig_mm.cli.extract_features import main

if __name__ == '__main__':
    main()
