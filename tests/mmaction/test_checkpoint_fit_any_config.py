"""Fit before use, whatever the config: a config that inherits only MMAction2's own
``_base_`` files (``mmaction::`` scope), swaps in ``SmallBigResNet`` and lists none of the
project's hooks gets the fit check and the finite-values check, through this repo's tools,
MMAction2's own tools and MMEngine's ``Runner.from_cfg`` (docs/reliability.md, "Checkpoints
that do not fit"; smallbig_mm/mmaction/patches/checkpoint_fit.py)."""

from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from helpers import PYTHON, REPO, WarningRecords, run_tool, run_tool_status
from smallbig_mm.weights import CheckpointError

TRAIN, TEST = str(REPO / 'tools' / 'train.py'), str(REPO / 'tools' / 'test.py')
ENV = dict(PYTHONPATH=str(REPO))

CONFIG = """
_base_ = ['mmaction::_base_/models/i3d_r50.py', 'mmaction::_base_/default_runtime.py']
custom_imports = dict(imports=['smallbig_mm.mmaction'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='SmallBigResNet', depth=23, base_channels=8),
    cls_head=dict(in_channels=256, num_classes=2, dropout_ratio=0.),
    data_preprocessor=dict(mean=[128., 128., 128.], std=[64., 64., 64.]))
pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')]
dataset = dict(type='VideoDataset', ann_file='{ann}', data_prefix=dict(video='{root}'),
               pipeline=pipeline)
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='DefaultSampler', shuffle=True), dataset=dataset)
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False), dataset=dataset)
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric', metric_options=dict(top_k_accuracy=dict(topk=(1, ))))
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_begin=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""


@pytest.fixture(scope='module')
def setup(motion_data, tmp_path_factory):
    """The mmaction-only config, and checkpoints: fitting, NaN, int-in-float, ResNet-18."""
    folder = tmp_path_factory.mktemp('anyconfig')
    config = folder / 'smallbig_on_mmaction_bases.py'
    config.write_text(CONFIG.format(ann=motion_data.val_ann, root=motion_data.root))
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    init_default_scope('mmaction')
    torch.manual_seed(0)
    state = MODELS.build(Config.fromfile(str(config)).model).state_dict()
    nan = dict(
        state,
        **{
            'backbone.layer2.0.conv2.weight': torch.full_like(
                state['backbone.layer2.0.conv2.weight'], float('nan')
            )
        },
    )
    ints = dict(state, **{'backbone.conv1.weight': state['backbone.conv1.weight'].long()})
    files = {
        'good.pth': {'meta': {}, 'state_dict': state},
        'nan.pth': {'state_dict': nan},
        'ints.pth': {'state_dict': ints},
        'resnet18.pth': torchvision.models.resnet18(weights=None).state_dict(),
    }
    for name, obj in files.items():
        torch.save(obj, folder / name)
    return config, folder


def _runner(config: Path, work_dir: Path, **options) -> Runner:
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(
        {
            'work_dir': str(work_dir),
            'log_level': 'WARNING',
            'experiment_name': f'{work_dir.name}-{id(work_dir)}',
            **options,
        }
    )
    return Runner.from_cfg(cfg)


def _log(runner: Runner) -> WarningRecords:
    records = WarningRecords()
    MMLogger.get_current_instance().addHandler(records)
    return records


@pytest.mark.parametrize(
    'name,needle',
    [
        ('nan.pth', 'tensors hold NaN or Inf values (backbone.layer2.0.conv2.weight)'),
        (
            'ints.pth',
            'tensors of another kind than their slot (1): backbone.conv1.weight: '
            'checkpoint torch.int64 vs model torch.float32',
        ),
        ('resnet18.pth', '2D ResNet checkpoint'),
    ],
)
def test_runner_test_refuses_what_does_not_fit(setup, tmp_path, name, needle):
    config, folder = setup
    runner = _runner(config, tmp_path / 'run', load_from=str(folder / name))
    with pytest.raises(CheckpointError) as info:
        runner.test()
    assert str(folder / name) in str(info.value) and needle in str(info.value)


def test_runner_load_from_in_training_refuses_a_2d_resnet(setup, tmp_path):
    config, folder = setup
    runner = _runner(config, tmp_path / 'run', load_from=str(folder / 'resnet18.pth'))
    with pytest.raises(CheckpointError, match='does not fit the model'):
        runner.train()
    assert not list((tmp_path / 'run').glob('*.pth'))


def test_runner_resume_is_exact_or_refused(setup, tmp_path):
    config, folder = setup
    state = torch.load(folder / 'good.pth')['state_dict']
    del state['backbone.layer4.0.bn1.weight']
    torch.save(
        {'meta': {'epoch': 1, 'iter': 2}, 'state_dict': state, 'message_hub': {}, 'optimizer': {}},
        tmp_path / 'epoch_1.pth',
    )
    runner = _runner(config, tmp_path / 'run', load_from=str(tmp_path / 'epoch_1.pth'), resume=True)
    with pytest.raises(
        CheckpointError,
        match=r'missing in the checkpoint \(1\): '
        r'backbone\.layer4\.0\.bn1\.weight',
    ):
        runner.train()
    assert not list((tmp_path / 'run').glob('*.pth'))


def test_runner_loads_a_fitting_checkpoint_and_says_so_in_one_line(setup, tmp_path):
    config, folder = setup
    runner = _runner(config, tmp_path / 'run', load_from=str(folder / 'good.pth'), log_level='INFO')
    metrics = runner.test()
    assert 0 <= metrics['acc/top1'] <= 1
    good = torch.load(folder / 'good.pth')['state_dict']
    assert torch.equal(runner.model.backbone.conv1.weight, good['backbone.conv1.weight'])
    log = Path(runner.log_dir, f'{runner.timestamp}.log').read_text()
    assert f'loaded {folder / "good.pth"} into Recognizer3D: ' in log


@pytest.mark.parametrize(
    'head', [dict(_delete_=True, type='FeatureHead', spatial_type='avg', temporal_type='avg'), None]
)
def test_a_model_without_classifier_drops_and_names_the_checkpoints(setup, tmp_path, head):
    """MMAction2's clip_feature_extraction.py swaps cls_head for a FeatureHead."""
    config, folder = setup
    runner = _runner(config, tmp_path / 'run', **{'model.cls_head': head})
    records = _log(runner)
    runner.load_checkpoint(str(folder / 'good.pth'))
    assert any(
        "the model has no classifier: dropped the checkpoint's "
        '(cls_head.fc_cls.weight, cls_head.fc_cls.bias)' in m
        for m in records.messages
    )
    with pytest.raises(CheckpointError, match='does not fit'):  # the backbone must fit
        runner.load_checkpoint(str(folder / 'resnet18.pth'))


def test_other_models_keep_mmengines_behaviour(tmp_path):
    from mmengine.runner import load_checkpoint

    path = tmp_path / 'linear.pth'
    torch.save({'state_dict': {'weight': torch.full((2, 3), float('nan'))}}, path)
    model = torch.nn.Linear(3, 2)
    load_checkpoint(model, str(path))  # MMEngine: loads what matches, warns about the rest
    assert torch.isnan(model.weight).all()


# ------------------------------------------------------------------- through the real tools


def _tool(script, config, *args, cwd):
    return run_tool_status([PYTHON, script, str(config), *args], cwd=cwd, **ENV)


def test_test_tool_refuses_a_nan_checkpoint_in_one_line(setup, tmp_path):
    config, folder = setup
    name, needle = 'nan.pth', 'NaN or Inf'
    result = _tool(
        TEST, config, str(folder / name), '--work-dir', str(tmp_path / 'w'), cwd=tmp_path
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert result.returncode == 1 and len(errors) == 1, result.stderr[-3000:]
    assert str(folder / name) in errors[0] and needle in errors[0]
    assert 'test metrics' not in result.stdout


def test_train_tool_refuses_load_from_a_2d_resnet(setup, tmp_path):
    config, folder = setup
    result = _tool(
        TRAIN,
        config,
        '--work-dir',
        str(tmp_path / 'w'),
        '--cfg-options',
        f'load_from={folder / "resnet18.pth"}',
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert 'does not fit the model' in result.stderr and 'pretrained2d=True' in result.stderr
    assert not list((tmp_path / 'w').glob('*.pth'))


def test_mmaction_feature_extraction_tool_loads_a_recognizer_checkpoint(setup, tmp_path):
    import mmaction

    tool = Path(mmaction.__file__).parent / '.mim' / 'tools' / 'misc' / 'clip_feature_extraction.py'
    config, folder = setup
    out = tmp_path / 'features'
    result = run_tool(
        [PYTHON, str(tool), str(config), str(folder / 'good.pth'), str(out)], cwd=tmp_path, **ENV
    )
    assert (
        "the model has no classifier: dropped the checkpoint's (cls_head.fc_cls.weight, "
        'cls_head.fc_cls.bias)' in result.stdout + result.stderr
    )
    assert len(list(out.rglob('*.pkl'))) == 4  # one feature file per video of the list
