"""Write the motion dataset; the arguments of ``smallbig-generate-motion`` (see ``--help``)."""
import sys

from smallbig_mm.cli.launcher import main_generate_motion as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
