"""SmallBig under Recognizer3D with MMAction2's decord, PyAV and OpenCV video pipelines."""

from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

init_default_scope('mmaction')
REAL_AVI = Path(__file__).resolve().parents[1] / 'assets' / 'test.avi'
READERS = [
    ('DecordInit', 'DecordDecode'),
    ('PyAVInit', 'PyAVDecode'),
    ('OpenCVInit', 'OpenCVDecode'),
]


def pipeline(init: str, decode: str) -> Compose:
    return Compose(
        [
            dict(type=init),
            dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=2, test_mode=True),
            dict(type=decode),
            dict(type='Resize', scale=(32, 32), keep_ratio=False),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs'),
        ]
    )


@pytest.fixture(scope='module')
def recognizer():
    model = MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(type='SmallBigResNet', depth=23, base_channels=4),
            cls_head=dict(type='I3DHead', in_channels=128, num_classes=5, average_clips='prob'),
            data_preprocessor=dict(
                type='ActionDataPreprocessor',
                mean=[128.0] * 3,
                std=[64.0] * 3,
                format_shape='NCTHW',
            ),
        )
    )
    return model.eval()


@pytest.mark.parametrize('init,decode', READERS)
@pytest.mark.parametrize('source', ['real_avi', 'generated_mp4'])
def test_reader_pipeline_feeds_the_recognizer(recognizer, motion_data, init, decode, source):
    path = REAL_AVI if source == 'real_avi' else motion_data.root / 'val' / '000000.mp4'
    sample = pipeline(init, decode)(
        dict(filename=str(path), label=0, start_index=0, modality='RGB')
    )
    assert sample['inputs'].shape == (2, 3, 4, 32, 32)  # 2 clips of 4 frames
    with torch.no_grad():
        result = recognizer.test_step(
            dict(inputs=[sample['inputs']], data_samples=[sample['data_samples']])
        )[0]
    assert result.pred_score.shape == (5,)
    torch.testing.assert_close(result.pred_score.sum(), torch.tensor(1.0))
