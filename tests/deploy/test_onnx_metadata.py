"""What an exported file records, and the exporter's defaults from the weights' record."""

import json
import logging

import pytest
from torch import nn

from smallbig_mm.cli.export import recorded_shape
from smallbig_mm.deploy import ClipModel, ExportError
from smallbig_mm.weights.meta import WEIGHTS_META_KEY, InputSpec, WeightsMeta


def clip_model(meta=None, source='/home/me/configs/tiny.py', checkpoint='/data/run/epoch_1.pth'):
    return ClipModel(
        nn.Identity(), 'softmax', 3, [114.0] * 3, [57.0] * 3, '0-255', source, checkpoint, meta
    )


RECORD = WeightsMeta(
    InputSpec(mean=(114.0,) * 3, std=(57.0,) * 3, num_frames=4, test_crop=(48, 48)), ('a', 'b', 'c')
)


def test_metadata_holds_the_record_and_no_local_folder():
    props = clip_model(RECORD).metadata()
    assert props['source'] == 'tiny.py' and props['checkpoint'] == 'epoch_1.pth'
    assert WeightsMeta.from_json(props[WEIGHTS_META_KEY]) == RECORD
    assert not any('/home' in v or '/data' in v for v in props.values())
    assert WEIGHTS_META_KEY not in clip_model(None).metadata()
    assert json.loads(props[WEIGHTS_META_KEY])['classes'] == ['a', 'b', 'c']


def test_the_recorded_clip_is_the_default_size_and_frames(caplog):
    assert recorded_shape(clip_model(RECORD), None, None, 'w') == (4, 48)
    assert recorded_shape(clip_model(None), None, None, 'w') == (8, 224)
    with caplog.at_level(logging.WARNING):
        assert recorded_shape(clip_model(RECORD), None, 224, 'w.pth') == (4, 224)
    assert caplog.text.count('kept as given') == 1 and 'size 224 (recorded: 48)' in caplog.text
    wide = WeightsMeta(InputSpec(test_crop=(48, 64)))
    with pytest.raises(ExportError, match='48x64 .* pass --size'):
        recorded_shape(clip_model(wide), None, None, 'w.pth')
    assert recorded_shape(clip_model(wide), None, 64, 'w.pth') == (8, 64)
