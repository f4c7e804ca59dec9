"""Benchmark models; the arguments of ``smallbig-benchmark`` (see ``--help``)."""

import sys

from smallbig_mm.cli.launcher import main_benchmark as main  # --version, missing extras

if __name__ == '__main__':
    sys.exit(main())
