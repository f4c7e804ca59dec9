"""Test a checkpoint; same arguments as MMAction2's tools/test.py (see ``--help``)."""
from smallbig_mm.cli.test import main

if __name__ == '__main__':
    main()
