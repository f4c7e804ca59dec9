"""Train with a config; same arguments as MMAction2's tools/train.py (see ``--help``)."""

import sys

from smallbig_mm.cli.launcher import main_train as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
