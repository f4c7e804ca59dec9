"""Export a clip classifier (config or timm name) to ONNX; see ``--help``."""
from smallbig_mm.cli.export import main

if __name__ == '__main__':
    main()
