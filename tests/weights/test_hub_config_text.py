"""What a hub folder reads from a checkpoint's config text (``meta['cfg']``), never running it."""

from smallbig_mm.weights.hub import args_from_config, parse_config_text
from smallbig_mm.weights.meta_config import meta_from_config


def test_config_text_is_read_without_running_it():
    cfg = parse_config_text(
        "import os\nx = os.system('exit 1')\nclip = 8\n"
        'model = dict(backbone=dict(depth=23, in_channels=3))\n'
    )
    assert cfg == {'clip': 8, 'model': {'backbone': {'depth': 23, 'in_channels': 3}}}
    assert parse_config_text('model = dict(') == {}  # not Python: nothing


def test_record_reads_every_frame_sampler_and_the_crop():
    cfg = parse_config_text(
        "test_pipeline = [dict(type='DecordInit'),\n"
        "    dict(type='DenseSampleFrames', clip_len=16, frame_interval=2, num_clips=4),\n"
        "    dict(type='Resize', scale=(-1, 128)), dict(type='ThreeCrop', crop_size=112)]\n"
        'train_cfg = dict(max_epochs=3)\n'
    )
    assert args_from_config(cfg) == {}
    meta = meta_from_config(cfg)
    assert (
        meta.input.num_frames,
        meta.input.frame_interval,
        meta.input.test_clips,
        meta.input.test_crop,
        meta.input.test_crops,
        meta.input.resize_short_side,
    ) == (16, 2, 4, (112, 112), 3, 128)
    assert meta.provenance.max_epochs == 3
