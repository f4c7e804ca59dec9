"""Non-finite losses, mixed precision and a dying process, through MMAction2's real runner."""

import os
import subprocess

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

import reliability_plugin  # noqa: F401  (registers FaultInjectionHook)
from helpers import REPO, WarningRecords, data_options, free_port, tiny_config
from smallbig_mm.cli import train as train_cli
from smallbig_mm.mmaction.config_checks import ConfigError, check_config
from smallbig_mm.mmaction.engine import NonFiniteLossError, NonFiniteLossHook, guard_optim_wrapper
from smallbig_mm.weights import read_raw_checkpoint

FAULTS_CONFIG = REPO / 'tests' / 'configs' / 'tiny_smallbig_faults.py'


def run_with_nan(motion_data, tmp_path, nan_iters, **options) -> Runner:
    cfg = tiny_config(motion_data, tmp_path, **{'train_cfg.max_epochs': 2, **options})
    cfg.custom_hooks.append(dict(type='FaultInjectionHook', nan_iters=nan_iters))
    return Runner.from_cfg(cfg)


def test_nan_loss_stops_the_run_naming_the_iteration(motion_data, tmp_path):
    runner = run_with_nan(motion_data, tmp_path, nan_iters=[3])
    with pytest.raises(
        NonFiniteLossError,
        match=r'non-finite loss \(nan\) at epoch 2, '
        r'iteration 3: training stopped before the optimizer step',
    ):
        runner.train()
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert (tmp_path / 'epoch_1.pth').is_file()  # what was computed is kept


def test_nan_loss_can_skip_the_step_with_a_warning(motion_data, tmp_path):
    runner = run_with_nan(motion_data, tmp_path, nan_iters=[2], **{'custom_hooks.2.action': 'skip'})
    records = WarningRecords()
    runner.logger.addHandler(records)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert hook.skipped == 1
    skipped = [m for m in records.messages if 'skipped this optimizer step' in m]
    assert skipped == [
        'non-finite loss (nan) at epoch 1, iteration 2: skipped this optimizer '
        'step (weights and optimizer state unchanged; 1 skipped so far)'
    ]
    optimizer = runner.optim_wrapper.optimizer
    steps = {
        int(optimizer.state[p]['step']) for p in runner.model.parameters() if p in optimizer.state
    }
    assert steps == {3}  # 4 iterations, one step skipped
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_skipping_stops_after_too_many_bad_steps_in_a_row():
    model = torch.nn.Linear(2, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    (guard,) = guard_optim_wrapper(wrapper, action='skip', max_consecutive_skips=2)
    inf_loss = model(torch.ones(1, 2)).sum() * float('inf')
    wrapper.update_params(inf_loss)
    wrapper.update_params(model(torch.ones(1, 2)).sum() * float('inf'))
    with pytest.raises(NonFiniteLossError, match='the 2 steps before it were skipped'):
        wrapper.update_params(model(torch.ones(1, 2)).sum() * float('inf'))
    assert guard.skipped == 3 and torch.isfinite(model.weight).all()


def test_amp_on_cpu_trains_in_bfloat16(motion_data, tmp_path):
    args = train_cli.parse_args(
        [
            str(REPO / 'tests' / 'configs' / 'tiny_smallbig_motion.py'),
            '--amp',
            '--work-dir',
            str(tmp_path),
        ]
    )
    cfg = train_cli.merge_args(
        tiny_config(motion_data, tmp_path, **{'train_cfg.max_epochs': 1}), args
    )
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    runner = Runner.from_cfg(cfg)
    dtypes = []
    runner.model.backbone.register_forward_hook(lambda m, a, out: dtypes.append(out.dtype))
    runner.train()
    if torch.cuda.is_available():
        pytest.skip('CUDA present: AmpOptimWrapper runs float16 with a loss scaler there')
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    assert not runner.optim_wrapper.loss_scaler.is_enabled()
    assert dtypes[:2] == [torch.bfloat16, torch.bfloat16]  # the 2 training iterations
    assert dtypes[2] == torch.float32  # validation runs without autocast
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert read_raw_checkpoint(tmp_path / 'epoch_1.pth')['meta']['epoch'] == 1


def test_float16_amp_without_a_gpu_names_the_key(motion_data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('float16 autocast is valid where CUDA exists')
    cfg = tiny_config(
        motion_data,
        tmp_path,
        **{'optim_wrapper.type': 'AmpOptimWrapper', 'optim_wrapper.dtype': 'float16'},
    )
    with pytest.raises(
        ConfigError,
        match=r"optim_wrapper.dtype: optim_wrapper.dtype='float16' "
        r"is not supported .* use one of \('bfloat16'",
    ):
        check_config(cfg)


def test_a_killed_rank_ends_the_distributed_run_with_rank_0_saying_so(motion_data, tmp_path):
    """Rank 1 (on "node" 1) is killed: rank 0 (on "node" 0) stops with the documented one
    line instead of hanging. Two single-process torchrun invocations (--nnodes 2 on
    localhost), so that node 0's torchrun does not kill rank 0 before it notices."""
    # rank 1's loss is NaN at iteration 1 (both ranks skip that step), then rank 1 is
    # killed after iteration 2; 8 clips, batch 4 per rank: one iteration per epoch
    options = [
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        'train_cfg.max_epochs=4',
        'custom_hooks.2.action=skip',
        '+custom_hooks.4.nan_iters=[1]',
        '+custom_hooks.4.nan_rank=1',
        '+custom_hooks.4.kill_after_iter=2',
        '+custom_hooks.4.kill_rank=1',
        *data_options(motion_data),
    ]
    env = dict(
        os.environ,
        PYTHONUNBUFFERED='1',
        OMP_NUM_THREADS='1',
        NNODES='2',
        MASTER_ADDR='127.0.0.1',
        PORT=str(free_port()),
        PYTHONPATH=os.pathsep.join([str(REPO / 'tests'), os.environ.get('PYTHONPATH', '')]),
    )
    logs = [tmp_path / f'node{rank}.out' for rank in (0, 1)]
    nodes = []
    try:
        for rank, log in enumerate(logs):  # output to files: a full pipe would block a node
            with open(log, 'w') as out:
                nodes.append(
                    subprocess.Popen(
                        [
                            'bash',
                            str(REPO / 'tools' / 'dist_train.sh'),
                            str(FAULTS_CONFIG),
                            '1',
                            *options,
                        ],
                        cwd=tmp_path,
                        env=dict(env, NODE_RANK=str(rank)),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        for node in nodes:  # the timeout only keeps a hanging run from blocking the suite
            node.wait(timeout=300)
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    node0, node1 = (log.read_text() for log in logs)
    assert nodes[0].returncode != 0 and nodes[1].returncode != 0, (node0[-3000:], node1[-3000:])
    # rank 0's loss was finite: its gradients (all-reduced) were not, so it skipped too
    assert (
        "loss finite here; the gradients are not (another rank's loss, or an overflow) "
        'at epoch 1, iteration 1, rank 0: skipped this optimizer step'
    ) in node0
    assert 'Epoch(train) [2][1/1]' in node0 and 'Epoch(train) [3]' not in node0
    assert 'error: rank 0 lost contact with another process of this distributed run (' in node0
    assert 'continue with --resume' in node0
    assert 'Signal 9 (SIGKILL)' in node1


def test_hostile_loader_and_backbone_sizes_are_config_problems():
    """``batch_size=0``, ``num_workers=-1`` and ``base_channels=100000`` (or 1e8, which
    overflows even on the meta device) were 50-line tracebacks; a config on MMAction2's
    own bases, as ``--cfg-options`` would leave it."""
    from mmengine.config import Config

    def problems(**options):
        cfg = Config(
            dict(
                model=dict(
                    type='Recognizer3D',
                    backbone=dict(type='SmallBigResNet', depth=23, base_channels=8),
                    cls_head=dict(type='I3DHead', in_channels=256, num_classes=2),
                ),
                train_dataloader=dict(batch_size=2, num_workers=0, dataset=dict()),
            )
        )
        cfg.merge_from_dict(options)
        try:
            check_config(cfg, ('train',), check_files=False)
        except ConfigError as err:
            return [str(p) for p in err.problems]
        return []

    assert problems() == []
    assert problems(**{'train_dataloader.batch_size': 0}) == [
        'train_dataloader.batch_size: must be an int of at least 1, got 0'
    ]
    assert (
        'num_workers: must be an int of at least 0'
        in problems(**{'train_dataloader.num_workers': -1})[0]
    )
    assert (
        'GiB in float32, more than this machine has'
        in problems(
            **{'model.backbone.base_channels': 100000, 'model.cls_head.in_channels': 3200000}
        )[0]
    )
    assert 'overflowed' in problems(**{'model.backbone.base_channels': 10**8})[0]
