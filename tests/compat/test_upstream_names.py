"""Private names of other libraries: listed in smallbig_mm/compat, present, used nowhere else."""

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

from smallbig_mm.compat import mmaction as mmaction_names
from smallbig_mm.compat import mmengine as mmengine_names
from smallbig_mm.compat import timm as timm_names
from smallbig_mm.compat import torch as torch_names

PACKAGE = Path(__file__).resolve().parents[2] / 'smallbig_mm'
LIBRARIES = ('torch', 'timm', 'mmengine', 'mmaction', 'mmcv')
COMPAT = {
    'torch': torch_names,
    'timm': timm_names,
    'mmengine': mmengine_names,
    'mmaction': mmaction_names,
}


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


def stored_on_instances(owner: type, attribute: str) -> bool:
    """Whether the module of class ``owner`` stores ``attribute`` on an instance (an
    attribute set in ``__init__`` is not one of the class)."""
    source = inspect.getsource(inspect.getmodule(owner))
    pattern = rf"self\.{attribute}\s*[+-]?=[^=]|__setattr__\('{attribute}'"
    return re.search(pattern, source) is not None


def names(library: str):
    marks = [pytest.mark.mmaction] if library.startswith('mm') else []
    return [pytest.param(name, marks=marks, id=name) for name in COMPAT[library].PRIVATE_NAMES]


@pytest.mark.parametrize('dotted', [name for library in COMPAT for name in names(library)])
def test_every_listed_name_exists_in_the_installed_version(dotted):
    owner_name, attribute = dotted.rsplit('.', 1)
    owner = resolve(owner_name)
    assert hasattr(owner, attribute) or (
        inspect.isclass(owner) and stored_on_instances(owner, attribute)
    )


@pytest.mark.parametrize('module', list(COMPAT.values()), ids=list(COMPAT))
def test_each_module_names_the_versions_it_was_tested_with(module):
    assert module.TESTED_WITH and module.__doc__ and 'Tested with' in module.__doc__
    for library_version in module.TESTED_WITH.split(', '):
        assert library_version in module.__doc__


@pytest.mark.parametrize('module', [mmengine_names, mmaction_names], ids=['mmengine', 'mmaction'])
def test_the_openmmlab_modules_import_no_openmmlab_library(module):
    source = ast.parse(Path(module.__file__).read_text())
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


def package_classes():
    """Every class the package defines (the generated configs are not modules to import)."""
    import smallbig_mm

    for info in pkgutil.walk_packages(smallbig_mm.__path__, 'smallbig_mm.'):
        if info.name.startswith(('smallbig_mm.configs', 'smallbig_mm._native')):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and value.__module__ == info.name:
                yield value


def upstream(cls: type) -> bool:
    return cls.__module__.split('.')[0] in LIBRARIES


def own_private_names(cls: type):
    """The private names a class's own source defines or uses on ``self``/``super()``."""
    tree = ast.parse(inspect.getsource(cls).lstrip())
    for node in ast.walk(tree):
        name = None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = node.name
        elif isinstance(node, ast.Attribute) and (
            isinstance(node.value, ast.Name)
            and node.value.id == 'self'
            or isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == 'super'
        ):
            name = node.attr
        if name and name.startswith('_') and not name.startswith('__'):
            yield name


def upstream_private_names(cls: type):
    """Private names of ``cls``'s own code that its upstream base classes define."""
    bases = [base for base in cls.__mro__[1:] if upstream(base) and base is not object]
    for name in sorted(set(own_private_names(cls))):
        for base in bases:
            if name in vars(base) or stored_on_instances(base, name):
                yield f'{cls.__qualname__}.{name} ({base.__module__}.{base.__qualname__})'
                break


@pytest.mark.mmaction
def test_no_subclass_of_an_upstream_class_touches_its_private_names():
    """Names a subclass reads, sets or overrides on ``self`` that its torch, timm, MMEngine
    or MMAction2 bases define (``self._epoch`` of a loop): through compat instead."""
    found = [
        use
        for cls in package_classes()
        if any(upstream(base) for base in cls.__mro__[1:])
        for use in upstream_private_names(cls)
    ]
    assert not found, f'use these through smallbig_mm/compat: {found}'


@pytest.mark.mmaction
def test_the_subclass_scan_finds_an_upstream_private_name():
    from mmengine.runner import EpochBasedTrainLoop

    class Loop(EpochBasedTrainLoop):
        def run_epoch(self) -> None:
            self._epoch += 1

    assert list(upstream_private_names(Loop)) == [
        'test_the_subclass_scan_finds_an_upstream_private_name.<locals>.Loop._epoch '
        '(mmengine.runner.loops.EpochBasedTrainLoop)'
    ]


OTHER_LIBRARIES = {
    '_replace': "collections.namedtuple's public method",
    '_reconstruct': "numpy's array reconstructor, allowed in checkpoints (weights/allowlist.py)",
}
"""Private-looking attributes of libraries compat does not cover, with why they are used."""
OWN_MARK = '_smallbig'
"""The prefix of the attributes the package itself puts on other libraries' objects."""


def own_definitions(tree: ast.AST):
    """Private names a module defines for itself: functions and methods, class attributes,
    and attributes its classes' methods store on ``self``."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name
        elif isinstance(node, ast.ClassDef):
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    yield child.id
                elif (
                    isinstance(child, ast.Attribute)
                    and isinstance(child.ctx, ast.Store)
                    and isinstance(child.value, ast.Name)
                    and child.value.id == 'self'
                ):
                    yield child.attr


def private_attributes(tree: ast.AST):
    """(line, attribute) of every ``obj._name`` a module reads or sets."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith('_')
            and not node.attr.startswith('__')
        ):
            yield node.lineno, node.attr


def test_every_private_attribute_outside_compat_is_the_packages_own():
    """``obj._name`` outside compat names something the package defines (a method, a class
    attribute, an attribute its classes store), an attribute it marks as its own
    (``_smallbig...``), or one of OTHER_LIBRARIES; any other belongs to a library compat
    covers (``runner._resume`` in a function, which the subclass scan does not see)."""
    trees = {path: ast.parse(path.read_text(encoding='utf-8')) for path in PACKAGE.rglob('*.py')}
    own = {name for tree in trees.values() for name in own_definitions(tree)}
    own |= {path.stem for path in PACKAGE.rglob('*.py')} | {'_native'}  # modules
    foreign = [
        f'{path.relative_to(PACKAGE)}:{line} .{attribute}'
        for path, tree in sorted(trees.items())
        if PACKAGE / 'compat' not in path.parents and PACKAGE / 'configs' not in path.parents
        for line, attribute in private_attributes(tree)
        if attribute not in own
        and attribute not in OTHER_LIBRARIES
        and not attribute.startswith(OWN_MARK)
    ]
    assert not foreign, f'use these through smallbig_mm/compat: {foreign}'
