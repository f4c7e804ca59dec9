"""Bad videos, bad annotation lines and config mistakes: named before (or instead of) a crash."""

import shutil

import numpy as np
import pytest
from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from helpers import REPO, TINY_CONFIG, WarningRecords, latest_log, tiny_config
from smallbig_mm.cli import train as train_cli
from smallbig_mm.data.annotations import AnnotationError
from smallbig_mm.data.motion import MotionSettings, make_clip, write_mp4
from smallbig_mm.mmaction.config_checks import ConfigError, check_config
from smallbig_mm.mmaction.datasets.robust_video import BadVideoError

READERS = [
    ('DecordInit', 'DecordDecode'),
    ('PyAVInit', 'PyAVDecode'),
    ('OpenCVInit', 'OpenCVDecode'),
]
BAD_KINDS = ('empty', 'unreadable', 'truncated', 'short')


@pytest.fixture(scope='module')
def videos(motion_data, tmp_path_factory):
    """Two good clips, one bad clip of each kind, and a truncated AVI."""
    root = tmp_path_factory.mktemp('bad_videos')
    for i in range(2):
        shutil.copy(motion_data.root / 'train' / f'{i:06d}.mp4', root / f'good{i}.mp4')
    good = (root / 'good0.mp4').read_bytes()
    (root / 'empty.mp4').write_bytes(b'')
    (root / 'unreadable.mp4').write_bytes(np.random.default_rng(0).bytes(3000))
    (root / 'truncated.mp4').write_bytes(good[: len(good) // 2])
    write_mp4(root / 'short.mp4', make_clip(MotionSettings(), 'train', 0)[0][:3], fps=8)
    avi = (REPO / 'tests' / 'assets' / 'test.avi').read_bytes()
    (root / 'truncated.avi').write_bytes(avi[: len(avi) * 2 // 5])
    return root


def build(root, lines, init, decode, **kwargs):
    init_default_scope('mmaction')
    ann = root / f'ann_{init}_{len(lines)}.txt'
    ann.write_text(''.join(f'{line}\n' for line in lines))
    return DATASETS.build(
        dict(
            type='RobustVideoDataset',
            ann_file=str(ann),
            data_prefix=dict(video=str(root)),
            pipeline=[
                dict(type=init),
                dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
                dict(type=decode),
                dict(type='Resize', scale=(32, 32), keep_ratio=False),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs'),
            ],
            **kwargs,
        )
    )


@pytest.mark.parametrize('init,decode', READERS)
def test_bad_videos_are_skipped_with_one_warning_each(videos, init, decode):
    lines = ['good0.mp4 0'] + [f'{kind}.mp4 1' for kind in BAD_KINDS] + ['good1.mp4 1']
    dataset = build(videos, lines, init, decode, on_bad_video='skip')
    records = WarningRecords()
    MMLogger.get_current_instance().addHandler(records)
    try:
        for _ in range(2):  # two epochs: still one warning per file
            samples = [dataset[i] for i in range(len(dataset))]
    finally:
        MMLogger.get_current_instance().removeHandler(records)
    # each bad video is replaced by the next good one, in index order
    assert [s['data_samples'].gt_label.item() for s in samples] == [0, 1, 1, 1, 1, 1]
    assert all(s['inputs'].shape == (1, 3, 8, 32, 32) for s in samples)
    warned = sorted(
        m.split(': ')[0].rsplit('/', 1)[1]
        for m in records.messages
        if m.startswith('skipping bad video')
    )
    assert warned == sorted(f'{kind}.mp4' for kind in BAD_KINDS)  # once each, not twice


@pytest.mark.parametrize('init,decode', READERS)
@pytest.mark.parametrize('kind', BAD_KINDS)
def test_a_bad_video_fails_with_its_name(videos, init, decode, kind):
    dataset = build(videos, [f'{kind}.mp4 0'], init, decode, on_bad_video='error')
    message = 'fewer than one clip spans' if kind == 'short' else 'cannot be read'
    with pytest.raises(BadVideoError, match=f'{videos / kind}.mp4: .*{message}'):
        dataset[0]


@pytest.mark.parametrize('init,decode', READERS)
def test_a_truncated_avi_is_read_or_named_never_a_crash(videos, init, decode):
    # MMAction2's DecordInit segfaults on this file (decord reading from memory);
    # RobustVideoDataset hands decord the path instead
    dataset = build(videos, ['truncated.avi 0'], init, decode, on_bad_video='error')
    try:
        assert dataset[0]['inputs'].shape == (1, 3, 8, 32, 32)
    except BadVideoError as err:
        assert 'truncated.avi' in str(err)


def test_training_skips_a_bad_video_and_warns_once(motion_data, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(motion_data.root, root)
    (root / 'train' / '000003.mp4').write_bytes(b'not a video')
    cfg = tiny_config(
        motion_data,
        tmp_path / 'work',
        **{
            'train_cfg.max_epochs': 2,
            'train_dataloader.dataset.type': 'RobustVideoDataset',
            'train_dataloader.dataset.on_bad_video': 'skip',
            'train_dataloader.dataset.ann_file': str(root / 'train.txt'),
            'train_dataloader.dataset.data_prefix.video': str(root),
        },
    )
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = latest_log(tmp_path / 'work').read_text()
    assert log.count(f'skipping bad video {root}/train/000003.mp4: cannot be read') == 1
    assert (tmp_path / 'work' / 'epoch_2.pth').is_file()


@pytest.fixture
def bad_annotations(motion_data, tmp_path):
    ann = tmp_path / 'train.txt'
    ann.write_text(
        'train/000000.mp4 0\n'
        'train/missing.mp4 1\n'
        'train/000001.mp4 5\n'
        'train/000002.mp4 zero\n'
        'train/000003.mp4 1\n'
    )
    return ann


def test_bad_annotation_lines_are_reported_with_their_numbers(motion_data, bad_annotations):
    init_default_scope('mmaction')
    with pytest.raises(AnnotationError) as info:
        DATASETS.build(
            dict(
                type='RobustVideoDataset',
                ann_file=str(bad_annotations),
                pipeline=[],
                num_classes=2,
                data_prefix=dict(video=str(motion_data.root)),
            )
        )
    message = str(info.value)
    assert (
        f'{bad_annotations}, line 2: video not found: {motion_data.root}/train/missing.mp4'
        in message
    )
    assert f'{bad_annotations}, line 3: label 5 is outside 0..1 (dataset num_classes=2)' in message
    assert (
        f"{bad_annotations}, line 4: the label must be an integer class index, got 'zero'"
        in message
    )
    assert len(info.value.problems) == 3


def test_plain_video_dataset_annotations_are_checked_before_training(
    motion_data, bad_annotations, tmp_path, capsys
):
    # the zoo configs use MMAction2's VideoDataset: the CLI checks its list first
    with pytest.raises(SystemExit) as info:
        train_cli.main(
            [
                str(TINY_CONFIG),
                '--work-dir',
                str(tmp_path / 'work'),
                '--cfg-options',
                f'train_dataloader.dataset.ann_file={bad_annotations}',
                f'train_dataloader.dataset.data_prefix.video={motion_data.root}',
                f'val_dataloader.dataset.ann_file={motion_data.val_ann}',
                f'val_dataloader.dataset.data_prefix.video={motion_data.root}',
            ]
        )
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert 'error: 3 config problem(s):' in err
    assert (
        f'train_dataloader.dataset.ann_file: {bad_annotations}, line 3: label 5 is outside '
        f'0..1 (model.cls_head.num_classes=2)'
    ) in err
    assert f'{bad_annotations}, line 2: video not found' in err
    assert not (tmp_path / 'work').exists()  # stopped before the runner was built


def config_with(motion_data, tmp_path, **options) -> Config:
    return tiny_config(motion_data, tmp_path, **options)


@pytest.mark.parametrize(
    'options,key,expected',
    [
        (
            {'model.cls_head.in_channels': 256},
            'model.cls_head.in_channels',
            '256 does not match the 128 channels the backbone returns (SmallBigResNet with '
            'base_channels=4: res5 gives 32 x 4); set model.cls_head.in_channels=128',
        ),
        (
            {'train_dataloader.dataset.num_classes': 3},
            'train_dataloader.dataset.num_classes',
            '3 differs from model.cls_head.num_classes=2',
        ),
        (
            {'model.backbone.frozen_stages': 5},
            'model.backbone (type=SmallBigResNet)',
            'frozen_stages must be an int in -1..4 (-1: nothing, 0: the stem, k: the stem and the '
            'first k stages), got 5',
        ),
    ],
)
def test_config_mistakes_name_the_key_and_the_accepted_values(
    motion_data, tmp_path, options, key, expected
):
    with pytest.raises(ConfigError) as info:
        check_config(config_with(motion_data, tmp_path, **options))
    assert [(p.key, p.message) for p in info.value.problems][0][0] == key
    assert expected in info.value.problems[0].message


def test_config_check_runs_before_the_first_step_in_mmaction_tools(motion_data, tmp_path):
    # MMAction2's own tools/train.py builds the runner directly: ConfigCheckHook catches it
    runner = Runner.from_cfg(
        config_with(motion_data, tmp_path, **{'model.cls_head.in_channels': 64})
    )
    with pytest.raises(ConfigError, match='model.cls_head.in_channels: 64 does not match'):
        runner.train()
    assert not list(tmp_path.glob('*.pth'))
