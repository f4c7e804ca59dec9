"""Kill, truncate and resume through MMAction2's real runner: it goes on as if nothing happened.

"As if nothing happened" (docs/reliability.md): the resumed run logs the same loss and
learning rate at every iteration as an uninterrupted run with the same seed, and ends
with bit-identical weights. A kill inside epoch 2 with epoch checkpoints re-runs epoch 2
from epoch_1.pth, and the re-run gives the losses of the first attempt; with iteration
checkpoints the run continues after the last saved iteration.
"""

import os
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from helpers import PYTHON, REPO, data_options, latest_log, logged, run_tool, run_tool_status
from smallbig_mm.mmaction.engine import atomic_torch_save, capture_rng_state, restore_rng_state
from smallbig_mm.weights import CheckpointError, read_raw_checkpoint

TRAIN = str(REPO / 'tools' / 'train.py')
FAULTS_CONFIG = REPO / 'tests' / 'configs' / 'tiny_smallbig_faults.py'
PLUGIN_PATH = os.pathsep.join([str(REPO / 'tests'), str(REPO)])  # the plugin, and this checkout
FAULT = 'custom_hooks.4'  # the FaultInjectionHook of tiny_smallbig_faults.py
SIGKILL_STATUS = -9


def train(work_dir, data, *args, options=(), check=True):
    """tools/train.py on the fault-injection config (2 epochs of 2 iterations)."""
    command = [
        PYTHON,
        TRAIN,
        str(FAULTS_CONFIG),
        '--work-dir',
        str(work_dir),
        *args,
        '--cfg-options',
        'train_cfg.max_epochs=2',
        *options,
        *data_options(data),
    ]
    runner = run_tool if check else run_tool_status
    return runner(command, cwd=work_dir.parent, PYTHONPATH=PLUGIN_PATH)


def same_weights(a, b) -> bool:
    first = read_raw_checkpoint(a)['state_dict']
    second = read_raw_checkpoint(b)['state_dict']
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.fixture(scope='module')
def uninterrupted(motion_data, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('uninterrupted') / 'run'
    result = train(work_dir, motion_data, '--seed', '0', '--deterministic', '--progress', 'on')
    return work_dir, result.stdout + result.stderr


@pytest.fixture(scope='module')
def killed(motion_data, tmp_path_factory):
    """Killed with SIGKILL after iteration 3 (inside epoch 2), then resumed with --resume."""
    work_dir = tmp_path_factory.mktemp('killed') / 'run'
    first = train(
        work_dir,
        motion_data,
        '--seed',
        '0',
        '--deterministic',
        options=[f'+{FAULT}.kill_after_iter=3'],
        check=False,
    )
    first_losses = logged(work_dir)
    saved = sorted(p.name for p in work_dir.glob('*.pth'))
    resumed = train(work_dir, motion_data, '--resume', '--deterministic')  # no --seed
    return dict(
        work_dir=work_dir,
        status=first.returncode,
        first_losses=first_losses,
        saved=saved,
        output=resumed.stdout + resumed.stderr,
    )


def test_kill_inside_an_epoch_then_resume_continues_exactly(uninterrupted, killed):
    reference_dir, _ = uninterrupted
    assert killed['status'] == SIGKILL_STATUS
    assert killed['saved'] == ['epoch_1.pth']  # the kill came before epoch 2 ended
    assert sorted(killed['first_losses']) == [1, 2, 3]
    assert 'resumed epoch: 1, iter: 2' in killed['output']
    # no --seed: the sampler still shuffles with the checkpoint's seed
    assert "the training sampler uses the checkpoint's seed 0" in killed['output']
    reference = logged(reference_dir)
    assert sorted(reference) == [1, 2, 3, 4] and len(set(reference.values())) == 4
    # the re-run of epoch 2 repeats its first attempt, and the whole run matches
    assert logged(killed['work_dir'])[3] == killed['first_losses'][3]
    assert logged(killed['work_dir']) == reference
    assert logged(killed['work_dir'], 'lr') == logged(reference_dir, 'lr')
    assert len(set(logged(reference_dir, 'lr').values())) == 4  # the schedule moved
    assert same_weights(killed['work_dir'] / 'epoch_2.pth', reference_dir / 'epoch_2.pth')


def test_two_runs_with_the_same_seed_give_identical_losses(uninterrupted, killed):
    # two separate processes, seed 0 and deterministic=True, up to the kill
    reference = logged(uninterrupted[0])
    assert {i: reference[i] for i in (1, 2, 3)} == killed['first_losses']


@pytest.fixture(scope='module')
def killed_with_iteration_checkpoints(motion_data, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('iter_ckpt') / 'run'
    options = ['+default_hooks.checkpoint.by_epoch=False']
    first = train(
        work_dir,
        motion_data,
        '--seed',
        '0',
        '--deterministic',
        options=options + [f'+{FAULT}.kill_after_iter=3'],
        check=False,
    )
    assert first.returncode == SIGKILL_STATUS
    resumed = train(work_dir, motion_data, '--resume', 'auto', '--deterministic', options=options)
    return work_dir, resumed.stdout + resumed.stderr


def test_resume_inside_an_epoch_from_an_iteration_checkpoint(
    uninterrupted, killed_with_iteration_checkpoints
):
    reference_dir, _ = uninterrupted
    work_dir, output = killed_with_iteration_checkpoints
    assert 'resumed epoch: 1, iter: 3' in output
    assert 'skipping its first 1 batches' in output
    assert 'Epoch(train) [2][1/2]' not in output and 'Epoch(train) [2][2/2]' in output
    assert logged(work_dir) == logged(reference_dir)
    assert same_weights(work_dir / 'iter_4.pth', reference_dir / 'epoch_2.pth')


def test_plain_epoch_loop_refuses_a_mid_epoch_checkpoint(
    killed_with_iteration_checkpoints, motion_data, tmp_path
):
    # MMEngine's own loop would re-train the epoch's first batches: refused, with the fix
    cfg = Config.fromfile(FAULTS_CONFIG)
    cfg.merge_from_dict(
        dict(
            work_dir=str(tmp_path),
            resume=True,
            log_level='WARNING',
            load_from=str(killed_with_iteration_checkpoints[0] / 'iter_3.pth'),
            custom_imports=dict(imports=['smallbig_mm.mmaction'], allow_failed_imports=False),
            custom_hooks=cfg.custom_hooks[:4],
            **{k: v for k, v in (o.split('=', 1) for o in data_options(motion_data))},
        )
    )
    cfg.train_cfg.type = 'EpochBasedTrainLoop'
    with pytest.raises(CheckpointError, match="train_cfg.type='ResumableEpochBasedTrainLoop'"):
        Runner.from_cfg(cfg).train()


def copy_checkpoints(source, target):
    target.mkdir()
    for checkpoint in source.glob('epoch_*.pth'):
        shutil.copy(checkpoint, target / checkpoint.name)
    (target / 'last_checkpoint').write_text(str(target / 'epoch_2.pth'))


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_resume_auto_skips_a_truncated_checkpoint(uninterrupted, motion_data, tmp_path):
    reference_dir, _ = uninterrupted
    work_dir = tmp_path / 'run'
    copy_checkpoints(reference_dir, work_dir)
    truncate(work_dir / 'epoch_2.pth')
    result = train(work_dir, motion_data, '--resume', '--deterministic')
    output = result.stdout + result.stderr
    assert f'skipping an unreadable checkpoint: {work_dir / "epoch_2.pth"}: truncated' in output
    assert f'resuming from {work_dir / "epoch_1.pth"}' in output
    reference = logged(reference_dir)
    assert logged(work_dir) == {3: reference[3], 4: reference[4]}  # epoch 2, once more
    assert same_weights(work_dir / 'epoch_2.pth', reference_dir / 'epoch_2.pth')


def test_resume_from_a_truncated_checkpoint_names_it_and_the_good_one(
    uninterrupted, motion_data, tmp_path
):
    work_dir = tmp_path / 'run'
    copy_checkpoints(uninterrupted[0], work_dir)
    truncate(work_dir / 'epoch_2.pth')
    result = train(work_dir, motion_data, '--resume', str(work_dir / 'epoch_2.pth'), check=False)
    assert result.returncode == 1
    assert (
        f'error: cannot resume from {work_dir / "epoch_2.pth"}: truncated or corrupt'
        in result.stderr
    )
    assert f'use --resume {work_dir / "epoch_1.pth"}' in result.stderr
    assert 'Traceback' not in result.stdout + result.stderr
    log = latest_log(work_dir).read_text()
    assert 'error: cannot resume from' in log  # the log file says why the run stopped

    # at DEBUG, the traceback and the stack's noise are all there
    debug = train(
        work_dir,
        motion_data,
        '--resume',
        str(work_dir / 'epoch_2.pth'),
        '--log-level',
        'DEBUG',
        check=False,
    )
    output = debug.stdout + debug.stderr
    assert debug.returncode == 1 and 'Traceback' in output and 'CheckpointError' in output
    assert 'MultiScaleDeformableAttention' in output and 'System environment' in output


def test_console_is_quiet_and_the_log_file_keeps_everything(uninterrupted):
    work_dir, output = uninterrupted
    for noise in (
        'MultiScaleDeformableAttention',
        'FileClient',
        'HardDiskBackend',
        'System environment',
        'Config:',
        'Hooks will be executed',
        'pkg_resources',
        'Warning',
    ):
        assert noise not in output, noise
    assert len(output.splitlines()) < 30, output
    # --progress on, output to a pipe: plain lines, no \r
    assert 'train 2/2: 2/2 loss' in output and 'val: 1/1' in output and '\r' not in output
    log = latest_log(work_dir).read_text()
    for kept in ('System environment', 'Config:', 'Hooks will be executed'):
        assert kept in log


def test_random_state_survives_a_weights_only_checkpoint(tmp_path):
    path = tmp_path / 'rng.pth'
    atomic_torch_save({'rng_state': capture_rng_state()}, str(path))
    expected = (torch.rand(3), torch.randint(100, (3,)))
    import numpy as np

    expected_np = np.random.rand(3)
    restore_rng_state(read_raw_checkpoint(path)['rng_state'])
    assert torch.equal(torch.rand(3), expected[0])
    assert torch.equal(torch.randint(100, (3,)), expected[1])
    assert np.array_equal(np.random.rand(3), expected_np)


def test_atomic_save_leaves_the_old_checkpoint_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    atomic_torch_save({'meta': {'epoch': 1}}, str(path))

    def save_half_then_die(obj, f):
        f.write(b'PK\x03\x04 half a checkpoint')
        raise KeyboardInterrupt  # as if killed while writing

    monkeypatch.setattr(torch, 'save', save_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({'meta': {'epoch': 2}}, str(path))
    monkeypatch.undo()
    assert read_raw_checkpoint(path)['meta'] == {'epoch': 1}
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']  # no temporary left
