"""Session rules for every test: tests/ and the docstring examples of smallbig_mm/.

The ``mmaction`` marker (pytest.ini) names what needs MMEngine, MMAction2 or MMCV, so
``pytest -m "not mmaction"`` runs the rest (the torch core, weights, timm, export...) in an
environment without them (``bash tools/run_tests.sh --torch-only``). A test is marked:

- everything under ``tests/mmaction/`` (by ``pytest_collection_modifyitems`` below);
- elsewhere, explicitly: ``pytestmark = pytest.mark.mmaction`` for a module, or
  ``@pytest.mark.mmaction`` for one test that imports the stack or runs a tool on a config;
- the docstring examples of the modules in ``MMACTION_DOCTESTS`` and of
  ``smallbig_mm/mmaction/``.

Where the stack is not installed, a package module that cannot be imported without it
is not collected for its docstring examples (every such module is checked: one that
fails for another reason still fails).
"""

import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
MMACTION_STACK = ('mmengine', 'mmaction', 'mmcv')
MMACTION_FOLDERS = (ROOT / 'tests' / 'mmaction', ROOT / 'smallbig_mm' / 'mmaction')
# Package modules outside smallbig_mm/mmaction whose docstring examples use the stack.
MMACTION_DOCTESTS = ('smallbig_mm/apis/mmaction_model.py',)


MODULE_MARK = 'pytestmark = pytest.mark.mmaction'


def stack_installed() -> bool:
    """Whether MMEngine, MMAction2 and MMCV are installed (tests/mmaction, a folder without
    ``__init__.py`` on ``sys.path``, would otherwise pass for a namespace package)."""
    specs = [importlib.util.find_spec(name) for name in MMACTION_STACK]
    return all(spec is not None and spec.origin is not None for spec in specs)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def pytest_ignore_collect(collection_path: Path, config):
    """Without the stack, skips what imports it at module level: tests/mmaction, test
    modules marked as a whole, tests/reliability_plugin.py and package modules."""
    path = Path(collection_path)
    if stack_installed():
        return None
    if path in MMACTION_FOLDERS[:1] or path == ROOT / 'tests' / 'reliability_plugin.py':
        return True
    if path.suffix == '.py' and path.name.startswith('test_'):
        return MODULE_MARK in path.read_text(encoding='utf-8') or None
    if path.suffix != '.py' or ROOT / 'smallbig_mm' not in path.parents:
        return None
    try:
        importlib.import_module(_module_name(path))
    except ModuleNotFoundError as error:
        if (error.name or '').split('.')[0] in MMACTION_STACK:
            return True
        raise
    return None


def _needs_stack(path: Path) -> bool:
    return (
        any(folder in path.parents for folder in MMACTION_FOLDERS)
        or path.relative_to(ROOT).as_posix() in MMACTION_DOCTESTS
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _needs_stack(Path(item.path)):
            item.add_marker(pytest.mark.mmaction)


def pytest_runtest_setup(item):
    """Applies the stack fixes and registrations before any test that uses the stack."""
    if item.get_closest_marker('mmaction') is not None:
        import smallbig_mm.mmaction  # noqa: F401
