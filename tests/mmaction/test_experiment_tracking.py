"""Experiment tracking through MMEngine's vis_backends (docs/experiment_tracking.md):
TensorBoard gets the values the local backend logs, read back from its event file; a
backend whose package is missing is one config error, before training."""

import importlib.util
import json
from pathlib import Path

import pytest

from helpers import PYTHON, REPO, assert_one_error, data_options, run_tool_status, tiny_config
from smallbig_mm.mmaction.config_checks import ConfigError, check_vis_backends

TENSORBOARD = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]


def test_tensorboard_event_file_holds_the_logged_losses(motion_data, tmp_path):
    from mmengine.runner import Runner
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_config(motion_data, tmp_path, **{'train_cfg.max_epochs': 1})
    cfg.visualizer.vis_backends = TENSORBOARD
    Runner.from_cfg(cfg).train()

    (events,) = tmp_path.glob('*/vis_data/events.out.tfevents.*')
    board = EventAccumulator(str(events.parent))
    board.Reload()
    from_board = {e.step: e.value for e in board.Scalars('loss')}
    (scalars,) = tmp_path.glob('*/vis_data/scalars.json')
    local = {
        r['step']: r['loss']
        for r in map(json.loads, scalars.read_text().splitlines())
        if 'loss' in r
    }
    assert len(local) == 2  # 8 clips, batches of 4, one epoch
    assert from_board.keys() == local.keys()
    for step, loss in local.items():
        assert from_board[step] == pytest.approx(loss, rel=1e-6)  # stored as float32
    assert 'acc/top1' in board.Tags()['scalars']


def test_missing_backend_package_is_one_config_problem(monkeypatch):
    from mmengine.config import Config

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        'find_spec',
        lambda name, *a: None if name == 'tensorboard' else real_find_spec(name, *a),
    )
    cfg = Config(dict(visualizer=dict(vis_backends=TENSORBOARD)))
    (problem,) = check_vis_backends(cfg)
    assert str(problem) == (
        'visualizer.vis_backends: TensorboardVisBackend needs the '
        'tensorboard package, which is not installed: pip install tensorboard'
    )


@pytest.mark.skipif(
    importlib.util.find_spec('wandb') is not None,
    reason='needs an environment without wandb (the tested one has none)',
)
def test_train_with_an_uninstalled_backend_is_one_line(motion_data, tmp_path):
    result = run_tool_status(
        [
            PYTHON,
            str(REPO / 'tools' / 'train.py'),
            str(REPO / 'tests/configs/tiny_smallbig_motion.py'),
            '--work-dir',
            str(tmp_path / 'work'),
            '--cfg-options',
            'visualizer.vis_backends.0.type=WandbVisBackend',
            *data_options(motion_data),
        ],
        cwd=tmp_path,
    )
    assert_one_error(result, 1, 'WandbVisBackend needs the wandb package', 'pip install wandb')
    assert not list(Path(tmp_path / 'work').glob('*.pth'))


def test_config_check_hook_reports_it_in_mmaction2_tools(motion_data, tmp_path):
    """MMAction2's tools build the runner directly: ConfigCheckHook stops before a step."""
    from mmengine.runner import Runner

    cfg = tiny_config(motion_data, tmp_path)
    cfg.visualizer.vis_backends = [dict(type='TensorboardVisBackend')]
    runner = Runner.from_cfg(cfg)
    real_find_spec = importlib.util.find_spec
    try:
        importlib.util.find_spec = lambda name, *a: (
            None if name == 'tensorboard' else real_find_spec(name, *a)
        )
        with pytest.raises(ConfigError, match='TensorboardVisBackend needs the tensorboard'):
            runner.train()
    finally:
        importlib.util.find_spec = real_find_spec
    assert not list(tmp_path.glob('*.pth'))
