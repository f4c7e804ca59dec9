"""Shared fixtures: tiny generated videos and helpers to run the package's tools."""
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import pytest
import torch

import smallbig_mm  # noqa: F401  (compat fixes and registration before any test)
from smallbig_mm.datasets.motion import MotionSettings, generate_motion_dataset

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / 'tests' / 'configs' / 'tiny_smallbig_motion.py'


@pytest.fixture(scope='session')
def motion_data(tmp_path_factory):
    """8 training and 4 validation clips of 8 frames at 32x32, with annotation lists."""
    return generate_motion_dataset(tmp_path_factory.mktemp('motion') / 'data',
                                   MotionSettings(num_train=8, num_val=4))


def data_options(data) -> List[str]:
    """``--cfg-options`` pointing the tiny config's three dataloaders at ``data``."""
    options = []
    for split, ann in (('train', data.train_ann), ('val', data.val_ann), ('test', data.val_ann)):
        options += [f'{split}_dataloader.dataset.ann_file={ann}',
                    f'{split}_dataloader.dataset.data_prefix.video={data.root}']
    return options


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_tool(args: Sequence[str], cwd: Path, timeout: float = 300,
             **env_vars: str) -> subprocess.CompletedProcess:
    """Runs a command as a user would, failing the test with its output if it fails."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **env_vars)
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f'{" ".join(map(str, args))} exited {result.returncode}\n'
                    f'--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}')
    return result


PYTHON = sys.executable

# One thread per test process: predictable on CI's 2 cores, where the end-to-end tests
# also start subprocesses.
torch.set_num_threads(1)
