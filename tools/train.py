"""Train with a config; same arguments as MMAction2's tools/train.py (see ``--help``)."""
from smallbig_mm.cli.train import main

if __name__ == '__main__':
    main()
