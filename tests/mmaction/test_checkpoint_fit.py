"""Fit before use, through the real tools: every checkpoint that does not fit the model stops
the run with one line (file, counts, hint), before anything is computed or written; a
fine-tune with another class count drops the classifier and says so; a resume is exact or
refused (docs/reliability.md, "Checkpoints that do not fit")."""

import os
import shutil
from pathlib import Path

import pytest
import torch

from helpers import PYTHON, REPO, TINY_CONFIG, data_options, run_tool, run_tool_status
from smallbig_mm.timm_models.smallbig_timm import SmallBigNet
from smallbig_mm.weights import CheckpointError, read_raw_checkpoint
from smallbig_mm.weights.layouts import from_timm_state_dict

TRAIN, TEST = str(REPO / 'tools' / 'train.py'), str(REPO / 'tools' / 'test.py')
CONVERT = str(REPO / 'tools' / 'convert_checkpoint.py')
ENV = dict(PYTHONPATH=str(REPO))


def _tool(script, work_dir, data, *args, options=(), check=False, **env):
    command = [
        PYTHON,
        script,
        str(TINY_CONFIG),
        *args,
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        'train_cfg.max_epochs=1',
        'train_cfg.val_begin=2',
        *options,
        *data_options(data),
    ]
    runner = run_tool if check else run_tool_status
    return runner(command, cwd=Path(work_dir).parent, **ENV, **env)


def assert_one_line_error(result, *needles):
    """Exit status 1, exactly one ``error:`` line on stderr holding ``needles``, no traceback."""
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert result.returncode == 1, result.stderr[-3000:]
    assert len(errors) == 1, result.stderr[-3000:]
    assert 'Traceback' not in result.stdout + result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _recognizer_state(**kwargs):
    kwargs = {'depth': 23, 'base_channels': 4, 'num_classes': 2, **kwargs}
    return from_timm_state_dict(SmallBigNet(**kwargs).state_dict(), 'mmaction')


@pytest.fixture(scope='module')
def trained(motion_data, tmp_path_factory):
    """One epoch of the tiny config (no validation): epoch_1.pth with its training state."""
    work_dir = tmp_path_factory.mktemp('fit') / 'run'
    _tool(TRAIN, work_dir, motion_data, check=True)
    return work_dir


@pytest.fixture(scope='module')
def foreign(tmp_path_factory):
    """Checkpoints of other networks: depth 50, 5 classes, a 2D ResNet."""
    folder = tmp_path_factory.mktemp('foreign')
    c2d = SmallBigNet(depth=23, base_channels=4, num_classes=2, block_types=('2d',) * 4)
    files = {
        'depth50.pth': {'meta': {}, 'state_dict': _recognizer_state(depth=50)},
        'classes5.pth': {'meta': {}, 'state_dict': _recognizer_state(num_classes=5)},
        'resnet2d.pth': {
            k: v.squeeze(2) if v.ndim == 5 else v for k, v in c2d.state_dict().items()
        },
    }
    for name, obj in files.items():
        torch.save(obj, folder / name)
    return folder


def _checkpoints(work_dir):
    return sorted(p.name for p in Path(work_dir).glob('*.pth'))


@pytest.mark.parametrize(
    'name,needles',
    [
        (
            'depth50.pth',
            ['unexpected in the checkpoint (267)', 'has depth 50 but the model has depth 23'],
        ),
        (
            'classes5.pth',
            ['shape mismatches (2)', '5 classes in the checkpoint and 2 in the model'],
        ),
        ('resnet2d.pth', ['2D ResNet checkpoint', 'pretrained2d=True']),
    ],
)
def test_test_tool_refuses_a_checkpoint_that_does_not_fit(
    foreign, motion_data, tmp_path, name, needles
):
    result = _tool(TEST, tmp_path / 'test', motion_data, str(foreign / name))
    assert_one_line_error(result, str(foreign / name), *needles)
    assert 'test metrics' not in result.stdout


def test_resume_refuses_another_width_and_writes_nothing(trained, motion_data, tmp_path):
    work_dir = tmp_path / 'run'
    wide = read_raw_checkpoint(trained / 'epoch_1.pth')
    wide['state_dict'] = _recognizer_state(base_channels=8)
    work_dir.mkdir()
    torch.save(wide, work_dir / 'epoch_1.pth')
    result = _tool(TRAIN, work_dir, motion_data, '--resume', 'auto')
    assert_one_line_error(
        result, str(work_dir / 'epoch_1.pth'), 'shape mismatches', 'base_channels differ'
    )
    assert sorted(p.name for p in work_dir.iterdir()) == ['epoch_1.pth']  # no log folder either


def test_resume_refuses_a_weights_only_file_from_the_converter(trained, motion_data, tmp_path):
    weights = tmp_path / 'weights.pth'
    run_tool(
        [PYTHON, CONVERT, str(trained / 'epoch_1.pth'), str(weights), '--to', 'mmaction'],
        cwd=tmp_path,
        **ENV,
    )
    result = _tool(TRAIN, tmp_path / 'run', motion_data, '--resume', str(weights))
    assert_one_line_error(
        result,
        f'{weights}: cannot resume from it: it has no training state',
        'message_hub, optimizer',
        f'load_from={weights}',
    )
    assert not (tmp_path / 'run').exists()  # refused before the runner made its folders


def test_resume_refuses_another_optimizer(trained, motion_data, tmp_path):
    work_dir = tmp_path / 'run'
    shutil.copytree(trained, work_dir)
    result = _tool(
        TRAIN,
        work_dir,
        motion_data,
        '--resume',
        'auto',
        options=['optim_wrapper.optimizer.type=SGD', '+optim_wrapper.optimizer.momentum=0.9'],
    )
    assert_one_line_error(
        result, 'saved by another optimizer than the configured SGD', 'betas', 'momentum'
    )
    assert _checkpoints(work_dir) == ['epoch_1.pth']


def test_load_from_with_another_class_count_fine_tunes_and_says_so(foreign, motion_data, tmp_path):
    work_dir = tmp_path / 'run'
    result = _tool(
        TRAIN, work_dir, motion_data, check=True, options=[f'load_from={foreign / "classes5.pth"}']
    )
    assert (
        "fine-tuning: the checkpoint's classifier was dropped (cls_head.fc_cls.weight, "
        'cls_head.fc_cls.bias' in result.stdout + result.stderr
    )
    assert _checkpoints(work_dir) == ['epoch_1.pth']
    trained_backbone = read_raw_checkpoint(work_dir / 'epoch_1.pth')['state_dict']
    assert trained_backbone['cls_head.fc_cls.weight'].shape == (2, 128)


def test_load_from_a_2d_resnet_is_refused_with_the_pretrained2d_hint(
    foreign, motion_data, tmp_path
):
    work_dir = tmp_path / 'run'
    result = _tool(TRAIN, work_dir, motion_data, options=[f'load_from={foreign / "resnet2d.pth"}'])
    assert_one_line_error(result, 'pretrained2d=True')
    assert _checkpoints(work_dir) == []


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_init_cfg_pretrained_goes_through_the_guarded_reader(foreign, motion_data, tmp_path):
    marker = tmp_path / 'code-ran'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': _recognizer_state(), 'x': _RunsCode(str(marker))}, evil)
    init = ['+model.backbone.init_cfg.type=Pretrained', 'model.backbone.pretrained=None']
    result = _tool(
        TRAIN,
        tmp_path / 'evil',
        motion_data,
        options=[*init, f'+model.backbone.init_cfg.checkpoint={evil}'],
        TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1',
    )
    assert_one_line_error(result, f'{evil}: refused to load', 'posix.system')
    assert not marker.exists()
    result = _tool(
        TRAIN,
        tmp_path / 'deep',
        motion_data,
        options=[
            *init,
            f'+model.backbone.init_cfg.checkpoint={foreign / "depth50.pth"}',
            '+model.backbone.init_cfg.prefix=backbone.',
        ],
    )
    assert_one_line_error(result, str(foreign / 'depth50.pth'), 'has depth 50')
    assert _checkpoints(tmp_path / 'deep') == []


def test_mmaction_own_test_tool_gets_the_same_check(foreign, motion_data, tmp_path):
    import mmaction

    tool = Path(mmaction.__file__).parent / '.mim' / 'tools' / 'test.py'
    if not tool.is_file():
        pytest.skip('this mmaction2 install has no .mim/tools/test.py')
    result = run_tool_status(
        [
            PYTHON,
            str(tool),
            str(TINY_CONFIG),
            str(foreign / 'depth50.pth'),
            '--work-dir',
            str(tmp_path / 'mm'),
            '--cfg-options',
            *data_options(motion_data),
        ],
        cwd=tmp_path,
        **ENV,
    )
    assert result.returncode != 0
    assert (
        'CheckpointError' in result.stderr
        and 'has depth 50 but the model has depth 23' in result.stderr
    )
    assert 'acc/top1' not in result.stdout


def test_backbone_pretrained_3d_checkpoint_loads_whatever_pretrained2d_says(tmp_path):
    from smallbig_mm.mmaction.backbone import SmallBigResNetBackbone

    path = tmp_path / 'r23.pth'
    source = SmallBigNet(depth=23, base_channels=4)
    torch.save(source.state_dict(), path)
    for pretrained2d in (True, False):  # the layout tells a 3D checkpoint from a 2D one
        backbone = SmallBigResNetBackbone(
            depth=23, base_channels=4, pretrained=str(path), pretrained2d=pretrained2d
        )
        backbone.init_weights()
        assert torch.equal(backbone.conv1.weight, source.conv1.weight)
    with pytest.raises(CheckpointError, match=r'r23\.pth: the checkpoint does not fit.*depth 23'):
        SmallBigResNetBackbone(
            depth=50, base_channels=4, pretrained=str(path), pretrained2d=False
        ).init_weights()
