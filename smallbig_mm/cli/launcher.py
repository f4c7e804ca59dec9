"""The console scripts' entry points: ``--version`` for every tool, and one line naming the
extra a tool needs when that extra is not installed.

Every ``smallbig-*`` command (``setup.py`` ``console_scripts``, and the ``tools/*.py``
shims) starts here, which needs the standard library only. So in a base install (torch,
numpy, opencv-python):

* ``--version`` answers without importing the tool;
* ``--help`` of a tool whose extra is missing says what the tool does and which extra
  to install (exit 0);
* running it prints ``error: smallbig-train needs the mmaction extra ... pip install
  "smallbig-mm[mmaction]"`` (exit 1) instead of a ``ModuleNotFoundError`` traceback,
  also when the missing module is imported later, e.g. timm for a timm model name.

A ``ModuleNotFoundError`` for any other module is a programming error and keeps its
traceback.
"""

import importlib
import sys
from typing import Any, Callable, Dict, NamedTuple, Optional, Sequence

from ..version import __version__

EXTRA_MODULES: Dict[str, str] = {
    'mmengine': 'mmaction',
    'mmaction': 'mmaction',
    'mmcv': 'mmaction',
    'decord': 'mmaction',
    'timm': 'timm',
    'huggingface_hub': 'hub',
    'safetensors': 'hub',
    'onnx': 'deploy',
    'onnxruntime': 'deploy',
    'onnxscript': 'deploy',
}
"""Top-level module -> the extra of setup.py that installs it."""


class Tool(NamedTuple):
    """One console script: its module (with a ``main(argv)``) and what it does."""

    module: str
    summary: str


TOOLS: Dict[str, Tool] = {
    'smallbig-train': Tool('train', 'Train with an MMAction2 config (MMAction2 arguments).'),
    'smallbig-test': Tool('test', 'Test a checkpoint with an MMAction2 config.'),
    'smallbig-demo': Tool('demo', 'Recognise the action in a video.'),
    'smallbig-extract-features': Tool('extract_features', 'Extract clip features of videos.'),
    'smallbig-convert': Tool(
        'convert', 'Convert checkpoints between timm, MMAction2 and hub layouts.'
    ),
    'smallbig-generate-motion': Tool(
        'generate_motion', 'Generate the smooth-vs-shuffled motion dataset.'
    ),
    'smallbig-benchmark': Tool('benchmark', 'Measure the speed and memory of models.'),
    'smallbig-export': Tool('export', 'Export a clip classifier to ONNX.'),
}


def missing_extra(err: ModuleNotFoundError) -> Optional[str]:
    """The extra whose module ``err`` reports missing, or None for any other module.

    Example:
        >>> missing_extra(ModuleNotFoundError("No module named 'mmengine'", name='mmengine'))
        'mmaction'
        >>> missing_extra(ModuleNotFoundError("No module named 'nope'", name='nope')) is None
        True
    """
    return EXTRA_MODULES.get((err.name or '').split('.')[0])


def install_hint(extra: str) -> str:
    """The pip command that installs an extra (mmaction has its own documented steps).

    Example:
        >>> install_hint('timm')
        'pip install "smallbig-mm[timm]"'
    """
    hint = f'pip install "smallbig-mm[{extra}]"'
    if extra == 'mmaction':
        hint += ' and pip install --no-deps mmaction2==1.2.0 (README, Installation)'
    return hint


def version_line(command: str) -> str:
    """What ``--version`` prints.

    Example:
        >>> version_line('smallbig-train').startswith('smallbig-train (smallbig-mm) ')
        True
    """
    return f'{command} (smallbig-mm) {__version__}'


def run(command: str, argv: Optional[Sequence[str]] = None) -> Any:
    """Runs the tool ``command`` (a key of :data:`TOOLS`) with ``argv`` (default: sys.argv)
    and returns what its ``main`` returns (an exit status for some tools)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if '--version' in args:
        print(version_line(command))
        return 0
    tool = TOOLS[command]
    try:
        main = importlib.import_module(f'{__package__}.{tool.module}').main
        return main(args)
    except ModuleNotFoundError as err:
        extra = missing_extra(err)
        if extra is None:
            raise
        needs = f'needs the {extra} extra (No module named {err.name!r}): {install_hint(extra)}'
        if {'-h', '--help'} & set(args):
            print(f'usage: {command} ...\n\n{tool.summary}\n\nThis tool {needs}')
            return 0
        print(f'error: {command} {needs}', file=sys.stderr)
        sys.exit(1)


def _entry(command: str) -> Callable[..., Any]:
    def main(argv: Optional[Sequence[str]] = None) -> Any:
        return run(command, argv)

    main.__doc__ = f'The ``{command}`` console script.'
    return main


main_train = _entry('smallbig-train')
main_test = _entry('smallbig-test')
main_demo = _entry('smallbig-demo')
main_extract_features = _entry('smallbig-extract-features')
main_convert = _entry('smallbig-convert')
main_generate_motion = _entry('smallbig-generate-motion')
main_benchmark = _entry('smallbig-benchmark')
main_export = _entry('smallbig-export')
