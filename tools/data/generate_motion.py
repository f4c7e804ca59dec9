"""Write the motion dataset; the arguments of ``smallbig-generate-motion`` (see ``--help``)."""
import sys

from smallbig_mm.cli.generate_motion import main

if __name__ == '__main__':
    sys.exit(main())
