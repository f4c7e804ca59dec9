"""One run per work dir (issue 19): a second training into a work dir in use is refused
naming the other process; a killed run's lock is taken over with a line saying so. Through
tools/train.py, and through MMEngine's Runner with a config built only on MMAction2's own
bases."""

import signal
import subprocess
import sys
import time

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from helpers import PYTHON, REPO, TINY_CONFIG, assert_one_error, data_options, run_tool_status
from smallbig_mm.utils.lock import LOCK_NAME, WorkDirInUseError

TRAIN = str(REPO / 'tools' / 'train.py')

MMACTION_ONLY = """
_base_ = ['mmaction::_base_/models/i3d_r50.py', 'mmaction::_base_/default_runtime.py']
custom_imports = dict(imports=['smallbig_mm.mmaction'], allow_failed_imports=False)
model = dict(backbone=dict(_delete_=True, type='SmallBigResNet', depth=23, base_channels=8),
             cls_head=dict(in_channels=256, num_classes=2))
"""


def wait_for(condition, seconds=240):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


def test_two_trainings_into_one_work_dir(motion_data, tmp_path):
    work = tmp_path / 'work'
    base = [
        PYTHON,
        TRAIN,
        str(TINY_CONFIG),
        '--work-dir',
        str(work),
        '--cfg-options',
        *data_options(motion_data),
    ]
    log = open(tmp_path / 'first.log', 'w')
    first = subprocess.Popen(
        base + ['train_cfg.max_epochs=1000'], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: (work / LOCK_NAME).exists() or first.poll() is not None)
        assert first.poll() is None, (tmp_path / 'first.log').read_text()[-3000:]
        second = run_tool_status(base + ['train_cfg.max_epochs=1'], tmp_path)
        assert_one_error(
            second, 1, f'work dir {work} is in use by another run', f'pid {first.pid}', 'train.py'
        )
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    third = run_tool_status(base + ['train_cfg.max_epochs=1'], tmp_path)
    assert third.returncode == 0, third.stderr[-3000:]
    assert f'took over the lock of a run that is gone (pid {first.pid}' in third.stderr
    assert not (work / LOCK_NAME).exists()  # released at the end


def test_mmengine_runner_with_mmaction_bases_gets_the_lock(tmp_path, capsys):
    config = tmp_path / 'mmaction_only.py'
    config.write_text(MMACTION_ONLY)
    work = tmp_path / 'work'
    holder = subprocess.Popen(
        [
            sys.executable,
            '-c',
            'import sys, time; from smallbig_mm.utils.lock import '
            'acquire_work_dir; acquire_work_dir(sys.argv[1]); print("held", flush=True); '
            'time.sleep(120)',
            str(work),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == 'held'
        cfg = Config.fromfile(config)
        cfg.work_dir = str(work)
        with pytest.raises(WorkDirInUseError, match=f'pid {holder.pid}'):
            Runner.from_cfg(cfg)
    finally:
        holder.kill()
        holder.wait()
    runner = Runner.from_cfg(cfg)
    assert f'took over the lock of a run that is gone (pid {holder.pid}' in capsys.readouterr().err
    assert (work / LOCK_NAME).exists()
    from smallbig_mm.utils.lock import release_work_dir

    release_work_dir(str(work))
    assert not (work / LOCK_NAME).exists() and runner.work_dir == str(work)
