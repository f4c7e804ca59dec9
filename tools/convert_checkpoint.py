"""Convert a checkpoint between layouts; the arguments of ``smallbig-convert`` (see ``--help``)."""

import sys

from smallbig_mm.cli.launcher import main_convert as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
