"""The benchmark times the clip the subjects record (a config's test crop and frames)."""

import logging

import pytest

from smallbig_mm.cli.benchmark import recorded_clip
from smallbig_mm.utils.errors import UsageError

CONFIG = (
    "_base_ = ['mmaction::_base_/models/i3d_r50.py']\n"
    "test_pipeline = [dict(type='SampleFrames', clip_len={frames}, frame_interval=2,"
    " num_clips=1, test_mode=True), dict(type='Resize', scale=(-1, 64)),"
    " dict(type='CenterCrop', crop_size={size})]\n"
)


@pytest.mark.mmaction
def test_the_recorded_clip_is_the_default_and_a_differing_flag_is_reported(tmp_path, caplog):
    small = tmp_path / 'small.py'
    small.write_text(CONFIG.format(frames=4, size=48))
    assert recorded_clip([str(small), 'smallbig_resnet23'], None, None) == (4, 48)
    assert recorded_clip(['smallbig_resnet23'], None, None) == (8, 224)
    with caplog.at_level(logging.WARNING):
        assert recorded_clip([str(small)], None, 64) == (4, 64)
    assert 'size 64 (recorded: 48)' in caplog.text and caplog.text.count('kept as given') == 1
    other = tmp_path / 'other.py'
    other.write_text(CONFIG.format(frames=8, size=48))
    with pytest.raises(UsageError, match='record different clips'):
        recorded_clip([str(small), str(other)], None, None)
    assert recorded_clip([str(small), str(other)], 8, 32) == (8, 32)
