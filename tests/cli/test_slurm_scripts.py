"""tools/slurm_train.sh and slurm_test.sh give every job its own MASTER_PORT (as MMAction2's
do), keep one the user exported, and pass their arguments to srun. A fake ``srun`` on PATH
prints what it receives."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_SRUN = '#!/bin/sh\necho "MASTER_PORT=$MASTER_PORT"\necho "ARGS=$*"\n'
SCRIPTS = {
    'slurm_train.sh': ['part', 'job', 'cfg.py', 'wd'],
    'slurm_test.sh': ['part', 'job', 'cfg.py', 'ckpt.pth'],
}


@pytest.fixture
def fake_srun(tmp_path):
    srun = tmp_path / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != 'MASTER_PORT'}
    return dict(env, PATH=f'{tmp_path}{os.pathsep}{env["PATH"]}')


def launch(script, env):
    out = subprocess.run(
        ['bash', str(REPO / 'tools' / script), *SCRIPTS[script], '--seed', '1'],
        env=env,
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    lines = dict(line.split('=', 1) for line in out.splitlines())
    return lines['MASTER_PORT'], lines['ARGS']


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_each_job_gets_its_own_port(script, fake_srun):
    ports = {launch(script, fake_srun)[0] for _ in range(6)}
    assert len(ports) > 1, ports  # random per job (6 equal draws: p = 20000**-5)
    assert all(12000 <= int(port) < 32000 for port in ports)
    args = launch(script, fake_srun)[1]
    assert '--launcher slurm' in args and args.endswith('--seed 1')
    assert ' '.join(SCRIPTS[script][2:3]) in args


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_an_exported_port_is_kept(script, fake_srun):
    assert launch(script, dict(fake_srun, MASTER_PORT='23456'))[0] == '23456'
