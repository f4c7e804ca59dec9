"""A real kill inside a checkpoint save: the temporary file it leaves is removed by the
resume, which continues exactly (docs/reliability.md, "killed while saving")."""

import os
import re

from helpers import PYTHON, REPO, data_options, logged, run_tool, run_tool_status

TRAIN = str(REPO / 'tools' / 'train.py')
FAULTS_CONFIG = REPO / 'tests' / 'configs' / 'tiny_smallbig_faults.py'
FAULT = 'custom_hooks.4'  # the FaultInjectionHook of tiny_smallbig_faults.py
SIGKILL_STATUS = -9


def _train(work_dir, data, *args, options=(), check=True):
    command = [
        PYTHON,
        TRAIN,
        str(FAULTS_CONFIG),
        '--work-dir',
        str(work_dir),
        '--deterministic',
        *args,
        '--cfg-options',
        'train_cfg.max_epochs=2',
        'train_cfg.val_begin=3',
        '+default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        *options,
        *data_options(data),
    ]
    runner = run_tool if check else run_tool_status
    return runner(
        command, cwd=work_dir.parent, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / 'tests')])
    )


def test_a_kill_inside_a_save_leaves_a_temporary_that_resume_removes(motion_data, tmp_path):
    work_dir = tmp_path / 'run'
    first = _train(
        work_dir, motion_data, '--seed', '0', options=[f'+{FAULT}.kill_in_save_iter=3'], check=False
    )
    assert first.returncode == SIGKILL_STATUS, first.stderr[-2000:]
    temporaries = list(work_dir.glob('.iter_3.pth.tmp-*'))
    assert len(temporaries) == 1 and temporaries[0].stat().st_size > 0  # killed mid-save
    assert sorted(p.name for p in work_dir.glob('iter_*.pth')) == ['iter_1.pth', 'iter_2.pth']
    first_losses, first_lrs = logged(work_dir), logged(work_dir, 'lr')
    assert sorted(first_losses) == [1, 2, 3]

    resumed = _train(work_dir, motion_data, '--resume', 'auto')
    output = resumed.stdout + resumed.stderr
    assert f'removing {temporaries[0]}' in output and not temporaries[0].exists()
    assert re.search(r'resumed epoch: 0, iter: 2\b', output)  # from iter_2.pth
    assert sorted(p.name for p in work_dir.glob('iter_*.pth')) == [
        'iter_1.pth',
        'iter_2.pth',
        'iter_3.pth',
        'iter_4.pth',
    ]
    # iteration 3 is trained again from iter_2.pth and gives the killed run's loss and lr
    assert logged(work_dir)[3] == first_losses[3]
    assert logged(work_dir, 'lr')[3] == first_lrs[3]
    assert not list(work_dir.glob('.*tmp-*'))
