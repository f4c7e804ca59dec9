"""Write pooled backbone features of every window of videos (see ``--help``).

Example:
    python tools/misc/extract_features.py CONFIG CKPT videos.txt --out features/
"""

import sys

from smallbig_mm.cli.launcher import main_extract_features as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
