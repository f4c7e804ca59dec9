"""Private names of other libraries: listed in smallbig_mm/compat, present, used nowhere else."""

import ast
import importlib
from pathlib import Path

import pytest

from smallbig_mm.compat import mmengine as mmengine_names
from smallbig_mm.compat import timm as timm_names
from smallbig_mm.compat import torch as torch_names

PACKAGE = Path(__file__).resolve().parents[2] / 'smallbig_mm'
LIBRARIES = ('torch', 'timm', 'mmengine', 'mmaction', 'mmcv')
COMPAT = {'torch': torch_names, 'timm': timm_names, 'mmengine': mmengine_names}


def resolve(dotted: str):
    """The object a dotted name names: the longest importable module, then attributes."""
    parts = dotted.split('.')
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(dotted)


def instance_attribute(dotted: str) -> bool:
    """Runner attributes are set in ``__init__``: checked on an instance elsewhere."""
    return dotted.startswith('mmengine.runner.Runner._')


def names(library: str):
    marks = [pytest.mark.mmaction] if library == 'mmengine' else []
    return [pytest.param(name, marks=marks, id=name) for name in COMPAT[library].PRIVATE_NAMES]


@pytest.mark.parametrize('dotted', names('torch') + names('timm') + names('mmengine'))
def test_every_listed_name_exists_in_the_installed_version(dotted):
    if instance_attribute(dotted):
        pytest.importorskip('mmengine')
        import mmengine.runner

        source = ast.parse(Path(mmengine.runner.__file__).with_name('runner.py').read_text())
        assigned = {
            node.attr
            for node in ast.walk(source)
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
        }
        assert dotted.rsplit('.', 1)[1] in assigned
        return
    assert resolve(dotted) is not None


@pytest.mark.parametrize('module', list(COMPAT.values()), ids=list(COMPAT))
def test_each_module_names_the_versions_it_was_tested_with(module):
    assert module.TESTED_WITH and module.__doc__ and 'Tested with' in module.__doc__
    for library_version in module.TESTED_WITH.split(', '):
        assert library_version in module.__doc__


def test_the_mmengine_module_imports_no_mmengine():
    source = ast.parse(Path(mmengine_names.__file__).read_text())
    top_level = [node for node in source.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(not (getattr(node, 'module', None) or '').startswith('mm') for node in top_level)


def private_uses(path: Path):
    """Private names of LIBRARIES that ``path`` uses: imports and attributes."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    library_names = set()  # local names bound to something imported from LIBRARIES
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split('.')[0] in LIBRARIES
        ):
            if any(part.startswith('_') for part in node.module.split('.')):
                found.append(node.module)
            for alias in node.names:
                library_names.add(alias.asname or alias.name)
                if alias.name.startswith('_'):
                    found.append(f'{node.module}.{alias.name}')
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] in LIBRARIES:
                    library_names.add((alias.asname or alias.name).split('.')[0])
    private_attributes = {
        name.rsplit('.', 1)[1] for module in COMPAT.values() for name in module.PRIVATE_NAMES
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith('_')
            and not node.attr.startswith('__')
        ):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if (
                isinstance(root, ast.Name) and root.id in library_names
            ) or node.attr in private_attributes:
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Constant) and node.value in private_attributes:
            found.append(repr(node.value))
    return found


def test_no_module_outside_compat_uses_a_private_upstream_name():
    uses = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        if PACKAGE / 'compat' not in path.parents:
            found = private_uses(path)
            if found:
                uses[str(path.relative_to(PACKAGE))] = found
    assert not uses, f'use these through smallbig_mm/compat: {uses}'


def test_the_scan_finds_a_private_name(tmp_path):
    module = tmp_path / 'sample.py'
    module.write_text(
        'from torch import nn\nfrom timm.models._features import f\n'
        'x = nn.modules.batchnorm._BatchNorm\ny = runner._load_from\n'
    )
    assert private_uses(module) == [
        'timm.models._features',
        'nn.modules.batchnorm._BatchNorm',
        'runner._load_from',
    ]
