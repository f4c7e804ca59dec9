"""Test a checkpoint; same arguments as MMAction2's tools/test.py (see ``--help``)."""

import sys

from smallbig_mm.cli.launcher import main_test as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
