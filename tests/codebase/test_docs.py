"""What README.md and docs/*.md name exists: repository paths, console scripts, and the
flags of this project's tools (each checked against the tool's own argparse parser)."""

import contextlib
import importlib
import io
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

from helpers import load_tool
from smallbig_mm.cli.launcher import TOOLS

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md'))]
TOP = {path.name for path in REPO.iterdir()} - {'.git'}
# made by running something (the quick start, a training run, the torch-only setup)
GENERATED = ('work_dirs', 'data/', '.venv', 'predictions', 'features/', 'out.', 'smallbig.onnx')
SCRIPT = re.compile(r'(?<!\.)\bsmallbig-(?!mm\b)[a-z-]+[a-z]\b')  # smallbig-mm: the project
TOOL = re.compile(r'\b(tools/[\w/]+\.(?:py|sh))\b')
FLAG = re.compile(r'(?<![\w-])--[a-z][a-z0-9-]*')


def code_spans(text: str) -> Iterator[str]:
    """Lines of fenced blocks, then inline code spans."""
    fenced = re.findall(r'```[^\n]*\n(.*?)```', text, flags=re.S)
    for block in fenced:
        yield from block.replace('\\\n', ' ').splitlines()
    prose = re.sub(r'```.*?```', '', text, flags=re.S)
    yield from re.findall(r'`([^`\n]+)`', prose)


def named_paths(text: str) -> Set[str]:
    """Repository paths in code spans and relative links."""
    found = set()
    candidates = [token for span in code_spans(text) for token in re.split(r'[\s=(),\'"]+', span)]
    candidates += re.findall(r'\]\(([^)#\s]+)', text)
    for token in candidates:
        token = token.split('::')[0].strip('.:;,`')  # a test's node id: its file
        if not token or token.startswith(('http', '/', '-', '~')) or '://' in token:
            continue
        if any(c in token for c in '<>*{}[]$') or '...' in token or re.search(r'[A-Z]{4,}', token):
            continue  # placeholders and globs: CONFIG, <config>, *.pth
        first = token.split('/')[0]
        if first in TOP and (('/' in token) or '.' in token) and not token.startswith(GENERATED):
            found.add(token)
    return found


@pytest.mark.parametrize('doc', DOCS, ids=[doc.name for doc in DOCS])
def test_every_named_repository_path_exists(doc):
    text = doc.read_text(encoding='utf-8')
    base = doc.parent
    missing = sorted(
        path
        for path in named_paths(text)
        if not (REPO / path).exists() and not (base / path).exists()
    )
    assert not missing, f'{doc.name} names paths that do not exist: {missing}'


def console_scripts() -> Dict[str, str]:
    """Console script -> the smallbig_mm.cli module it runs (setup.py's entry points go
    through the launcher, whose table names the module)."""
    setup = (REPO / 'setup.py').read_text(encoding='utf-8')
    entries = re.findall(r"'(smallbig-[a-z-]+)=smallbig_mm\.cli\.launcher:main_\w+'", setup)
    return {name: TOOLS[name].module for name in entries}


def shim_modules() -> Dict[str, str]:
    """tools/*.py -> the smallbig_mm.cli module it runs."""
    shims = {}
    for path in REPO.glob('tools/**/*.py'):
        text = path.read_text()
        match = re.search(r'from smallbig_mm\.cli\.launcher import main_(\w+) as main', text)
        if match:
            shims[str(path.relative_to(REPO))] = match.group(1)
    return shims


def test_every_console_script_named_exists():
    scripts = console_scripts()
    for doc in DOCS:
        named = set(SCRIPT.findall(doc.read_text(encoding='utf-8')))
        assert named <= set(scripts), f'{doc.name}: {sorted(named - set(scripts))}'


def commands() -> List[Tuple[str, str, str]]:
    """(doc, tool, flag) for each flag that follows a tool in one command of a code span."""
    found = []
    for doc in DOCS:
        for span in code_spans(doc.read_text(encoding='utf-8')):
            for command in re.split(r'&&|\|\||;|\|', span.split(' # ')[0]):
                tool = SCRIPT.search(command) or TOOL.search(command)
                if tool is None:
                    continue
                for flag in FLAG.findall(command[tool.end() :]):
                    found.append((doc.name, tool.group(0), flag))
    return found


def help_text(tool: str) -> str:
    """The ``--help`` of a console script or tools/ file, from its parser, in-process."""
    module = console_scripts().get(tool) or shim_modules().get(tool)
    if module is not None:
        parse_args = importlib.import_module(f'smallbig_mm.cli.{module}').parse_args
    elif tool.startswith('tools/analysis_tools/'):
        script = load_tool(Path(tool).stem)
        parse_args = getattr(script, 'parse_args', None) or script.main
    else:
        return (REPO / tool).read_text(encoding='utf-8')  # a shell script: its own text
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parse_args(['--help'])
    return out.getvalue()


NEEDS_STACK = {'train', 'test', 'demo', 'extract_features'}  # parsers that import MMEngine


def tool_params():
    tools = sorted({tool for _, tool, _ in commands()})
    params = []
    for tool in tools:
        module = console_scripts().get(tool) or shim_modules().get(tool)
        marks = (
            [pytest.mark.mmaction]
            if module in NEEDS_STACK
            or tool.endswith(('dist_train.sh', 'dist_test.sh', 'slurm_train.sh', 'slurm_test.sh'))
            else []
        )
        params.append(pytest.param(tool, marks=marks, id=tool))
    return params


@pytest.mark.parametrize('tool', tool_params())
def test_every_flag_named_after_a_tool_is_one_of_its_options(tool):
    if tool.endswith('.sh') and not tool.endswith(('run_tests.sh', 'lint.sh')):
        flags = {flag for _, name, flag in commands() if name == tool}
        # the launchers pass their options on to train.py / test.py
        target = 'smallbig-test' if 'test' in tool else 'smallbig-train'
        text = help_text(target)
    else:
        flags = {flag for _, name, flag in commands() if name == tool}
        text = help_text(tool)
    unknown = sorted(flag for flag in flags if not re.search(re.escape(flag) + r'\b', text))
    assert not unknown, f'{tool} has no {unknown}'


def test_the_scan_sees_commands_and_paths():
    text = (
        '```bash\nsmallbig-convert a.pth b.pth --to timm  # note --not-a-flag\n```\n'
        'See `tools/train.py` and [x](docs/layout.md), `CONFIG.py`, `work_dirs/x`.'
    )
    spans = list(code_spans(text))
    assert spans[0].startswith('smallbig-convert')
    assert named_paths(text) == {'tools/train.py', 'docs/layout.md'}
