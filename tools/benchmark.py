"""Benchmark models; the arguments of ``smallbig-benchmark`` (see ``--help``)."""
import sys

from smallbig_mm.cli.benchmark import main

if __name__ == '__main__':
    sys.exit(main())
