"""A base install (torch, numpy, opencv-python; no MMEngine, MMAction2, timm or ONNX): every
console script answers ``--help`` and ``--version``, and a tool that needs an extra names
it in one line (exit 1) instead of a ModuleNotFoundError traceback.

The base environment is a folder of links to the installed distributions that torch,
numpy and opencv-python need (their requirement closure), used by ``python -S`` (no
site-packages), with this checkout on the path: one subprocess runs all the tools.
"""

import importlib.metadata as metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from smallbig_mm.cli.launcher import TOOLS
from smallbig_mm.version import __version__

REPO = Path(__file__).resolve().parents[2]
BASE_REQUIREMENTS = ('torch', 'numpy', 'opencv-python')
ABSENT = ('mmengine', 'mmaction', 'mmcv', 'timm', 'onnx', 'onnxruntime', 'huggingface_hub')
NEEDS = {'smallbig-train': 'mmaction', 'smallbig-test': 'mmaction'}
"""Tools whose every run needs an extra (the others need one only for some inputs)."""
PROBE = """
import contextlib, importlib.util, io, json, sys
import cv2, torch  # once, up front: cv2 refuses a second load after a failed tool import
from smallbig_mm.cli.launcher import TOOLS, run
report = {'absent': [m for m in sys.argv[1:] if importlib.util.find_spec(m) is not None]}
for command in TOOLS:
    for args in (['--version'], ['--help'], ['cfg.py', 'ckpt.pth']):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = run(command, args) or 0
            except SystemExit as stop:
                status = stop.code if isinstance(stop.code, int) else 1
            except BaseException as exc:
                status = 'raised ' + type(exc).__name__ + ': ' + str(exc)
        report[command + ' ' + args[0]] = [status, out.getvalue(), err.getvalue()]
print(json.dumps(report))
"""


def _base_site(target: Path) -> None:
    """Links every top-level entry of the requirement closure of BASE_REQUIREMENTS."""
    todo, seen = list(BASE_REQUIREMENTS), set()
    while todo:
        name = re.sub(r'[-_.]+', '-', todo.pop()).lower()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo += [
            re.split(r'[ ;<>=!~\[(]', req, maxsplit=1)[0]
            for req in dist.requires or []
            if 'extra ==' not in req
        ]
        for top in {f.parts[0] for f in dist.files or []} - {'..', 'bin'}:
            link, source = target / top, Path(dist.locate_file(top))
            if source.exists() and not link.exists():
                link.symlink_to(source)


@pytest.fixture(scope='module')
def answers(tmp_path_factory):
    base = tmp_path_factory.mktemp('base_site')
    _base_site(base)
    result = subprocess.run(
        [sys.executable, '-S', '-c', PROBE, *ABSENT],
        cwd=tmp_path_factory.mktemp('cwd'),
        text=True,
        capture_output=True,
        env={'PYTHONPATH': f'{base}:{REPO}', 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_extras_are_absent_from_the_base_environment(answers):
    assert answers['absent'] == []


@pytest.mark.parametrize('command', sorted(TOOLS))
def test_version_and_help_answer(answers, command):
    status, out, err = answers[f'{command} --version']
    assert (status, out, err) == (0, f'{command} (smallbig-mm) {__version__}\n', '')
    status, out, err = answers[f'{command} --help']
    assert status == 0 and out.startswith('usage:') and 'Traceback' not in out + err, out + err
    if command in NEEDS:
        assert f'needs the {NEEDS[command]} extra' in out and 'pip install' in out


@pytest.mark.parametrize('command', sorted(TOOLS))
def test_a_run_without_its_extra_is_one_line(answers, command):
    status, out, err = answers[f'{command} cfg.py']
    assert isinstance(status, int) and status != 0, status
    assert 'Traceback' not in out + err and 'raised' not in str(status)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len([line for line in lines if 'error:' in line]) == 1, err
    if command in NEEDS:
        assert lines == [
            f'error: {command} needs the {NEEDS[command]} extra (No module named '
            f'\'mmengine\'): pip install "smallbig-mm[mmaction]" and pip install '
            '--no-deps mmaction2==1.2.0 (README, Installation)'
        ]


def test_version_of_the_full_install_tools(tmp_path):
    """The tools/*.py shims go through the same entry points."""
    out = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'), '--version'],
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    assert out == f'smallbig-train (smallbig-mm) {__version__}\n'
