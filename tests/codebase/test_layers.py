"""The package's folders form floors, and imports point down (docs/layout.md).

Every import of ``smallbig_mm`` counts, at module level or inside a function, under
``TYPE_CHECKING`` or not: a folder imports only folders of lower floors (or itself), and
the modules of one folder import each other without loops.
"""

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'smallbig_mm'
FLOORS: Tuple[Tuple[str, ...], ...] = (
    ('utils', 'compat'),  # the standard library; the private names of other libraries
    ('ops',),  # the optional native pooling (the extension smallbig_mm._native): torch only
    ('models',),  # the network: torch only
    ('weights',),  # checkpoints: torch (MMEngine's names only if installed)
    ('timm_models', 'data'),  # the timm adapter; the built-in clips and annotation lists
    ('mmaction',),  # everything that imports MMEngine, MMAction2 or MMCV
    ('analysis', 'apis'),  # counting and benchmarks; whole-video inference
    ('deploy',),  # ONNX and torch.export of apis' clip models
    ('cli',),  # the command-line tools
)
FLOOR = {folder: level for level, folders in enumerate(FLOORS) for folder in folders}
TOP = ('__init__', 'version')  # smallbig_mm/__init__.py and version.py
LEAVES = ('smallbig_mm.version', 'smallbig_mm._native')  # import nothing of the package


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path) -> Set[str]:
    """The ``smallbig_mm`` modules (or packages) that ``path`` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[: len(package.split('.')) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            for alias in node.names:  # `from . import x` imports the module x
                if (
                    (PACKAGE.parent / (target + '.' + alias.name).replace('.', '/'))
                    .with_suffix('.py')
                    .exists()
                    or f'{target}.{alias.name}' in LEAVES  # the compiled extension
                ):
                    found.add(f'{target}.{alias.name}')
                    break
            else:
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {target for target in found if target.split('.')[0] == 'smallbig_mm'}


def folder_of(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def modules() -> Dict[str, Set[str]]:
    return {module_name(path): imported_modules(path) for path in sorted(PACKAGE.rglob('*.py'))}


def test_every_folder_has_a_floor():
    folders = {
        path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / '__init__.py').exists()
    }
    assert folders == set(FLOOR), 'add the new folder to FLOORS here and in docs/layout.md'


def test_imports_point_down():
    upward = []
    for module, targets in modules().items():
        own = folder_of(module)
        if own in TOP:
            continue
        for target in targets:
            other = folder_of(target)
            if other == own or target in LEAVES:
                continue
            if target == 'smallbig_mm' and own == 'cli':  # the package root, from the top
                continue
            if other in TOP or FLOOR[other] >= FLOOR[own]:
                upward.append(f'{module} -> {target}')
    assert not upward, upward


def find_loop(graph: Dict[str, Set[str]]) -> List[str]:
    """A cycle of ``graph`` (module -> modules it imports), or [] if there is none."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                loop = visit(nxt)
                if loop:
                    return loop
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            loop = visit(node)
            if loop:
                return loop
    return []


def test_no_two_modules_import_each_other():
    graph = modules()
    # a submodule's import runs its package's __init__ first; that edge is not a loop
    edges = {
        module: {
            target
            for target in targets
            if target in graph and target != module and not module.startswith(target + '.')
        }
        for module, targets in graph.items()
    }
    assert find_loop(edges) == []


@pytest.mark.parametrize(
    'graph, loop',
    [
        ({'a': {'b'}, 'b': {'a'}}, ['a', 'b', 'a']),
        ({'a': {'b'}, 'b': {'c'}, 'c': set()}, []),
    ],
)
def test_find_loop(graph, loop):
    assert find_loop(graph) == loop


def test_the_core_and_weights_import_no_mmaction_stack_at_module_level():
    for folder in ('utils', 'compat', 'models', 'weights', 'timm_models', 'data'):
        for path in (PACKAGE / folder).rglob('*.py'):
            tree = ast.parse(path.read_text(encoding='utf-8'))
            for node in tree.body:
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or '']
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else []
                )
                assert not any(
                    name.split('.')[0] in ('mmengine', 'mmaction', 'mmcv') for name in names
                ), path
