"""Export a clip classifier (config or timm name) to ONNX; see ``--help``."""

import sys

from smallbig_mm.cli.launcher import main_export as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
