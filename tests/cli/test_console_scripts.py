"""The console scripts setup.py declares are installed and start (with the mmaction extra;
tests/cli/test_base_install.py covers an install without it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.mmaction


@pytest.mark.parametrize(
    'script, words',
    [
        ('smallbig-train', ('--resume', '--amp', '--work-dir')),
        ('smallbig-test', ('checkpoint', '--dump', '--work-dir')),
    ],
)
def test_console_script_prints_its_usage(script, words):
    path = BIN / script
    if not path.exists():
        pytest.skip(f'{script} is not installed in this environment (pip install -e .)')
    env = dict(os.environ, PYTHONPATH=str(REPO))  # this checkout's code
    result = subprocess.run(
        [str(path), '--help'], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('usage:') and all(w in result.stdout for w in words)


def test_console_script_usage_error_exits_2():
    path = BIN / 'smallbig-train'
    if not path.exists():
        pytest.skip('smallbig-train is not installed in this environment')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [str(path)], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert result.returncode == 2 and 'error:' in result.stderr
