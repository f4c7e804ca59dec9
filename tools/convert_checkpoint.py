"""Convert a checkpoint between layouts; the arguments of ``smallbig-convert`` (see ``--help``)."""
import sys

from smallbig_mm.cli.convert import main

if __name__ == '__main__':
    sys.exit(main())
