"""A full disk while a checkpoint is saved (issue 19): one line naming the file and the
checkpoint kept, exit 1, nothing half-written. The disk is really full for that one file:
the save's temporary file is a link to ``/dev/full`` (``FaultInjectionHook``), so the kernel
answers ENOSPC to the real ``torch.save``, which raises a ``RuntimeError``, not an
``OSError`` (docs/reliability.md, "a full disk")."""

import os
from pathlib import Path

import mmaction
import pytest

from helpers import PYTHON, REPO, assert_one_error, data_options, run_tool_status

TRAIN = str(REPO / 'tools' / 'train.py')
MMACTION_TRAIN = Path(mmaction.__file__).parent / '.mim' / 'tools' / 'train.py'
FAULTS_CONFIG = REPO / 'tests' / 'configs' / 'tiny_smallbig_faults.py'
FAULT = 'custom_hooks.4'  # the FaultInjectionHook of tiny_smallbig_faults.py

pytestmark = pytest.mark.skipif(not os.path.exists('/dev/full'), reason='needs /dev/full')


def _train(tool, work_dir, data, epochs, add='+'):
    """``add``: how the tool's ``--cfg-options`` adds a key (MMAction2's DictAction: '')."""
    return run_tool_status(
        [
            PYTHON,
            str(tool),
            str(FAULTS_CONFIG),
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            f'train_cfg.max_epochs={epochs}',
            f'train_cfg.val_begin={epochs + 1}',
            f'{add}{FAULT}.full_disk_at_epoch={epochs}',
            *data_options(data),
        ],
        work_dir.parent,
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / 'tests')]),
    )


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(motion_data, tmp_path):
    work = tmp_path / 'run'
    result = _train(TRAIN, work, motion_data, epochs=2)
    assert_one_error(
        result,
        1,
        f'error: {work / "epoch_2.pth"}: no space left on device while writing it; nothing was '
        'written (the partial temporary file is removed): free some space or choose another '
        f'disk; the checkpoints saved before are kept (newest: {work / "epoch_1.pth"}): after '
        'freeing space, continue from it with --resume',
    )
    assert sorted(p.name for p in work.glob('*.pth')) == ['epoch_1.pth']
    assert not list(work.glob('.*tmp-*'))  # the link to /dev/full is gone too

    # MMAction2's own tools/train.py: the patch turns it into the same error (after its
    # traceback: that tool has no error reporter), at the first epoch: nothing was kept
    if not MMACTION_TRAIN.is_file():
        pytest.skip('this mmaction2 install has no .mim/tools/train.py')
    work = tmp_path / 'mmaction'
    result = _train(MMACTION_TRAIN, work, motion_data, epochs=1, add='')
    assert result.returncode == 1, result.stderr[-3000:]
    assert (
        f'smallbig_mm.utils.files.DiskFullError: {work / "epoch_1.pth"}: no space left on '
        'device while writing it; nothing was written (the partial temporary file is '
        'removed): free some space or choose another disk; no checkpoint of this run was '
        'saved before'
    ) in result.stderr.splitlines()
    assert not list(work.glob('*.pth')) and not list(work.glob('.*tmp-*'))
