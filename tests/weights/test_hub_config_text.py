"""What a hub folder reads from a checkpoint's config text (``meta['cfg']``), never running it."""
from smallbig_mm.weights.hub import parse_config_text, spec_from_config


def test_config_text_is_read_without_running_it():
    cfg = parse_config_text("import os\nx = os.system('exit 1')\nclip = 8\n"
                            "model = dict(backbone=dict(depth=23, in_channels=3))\n")
    assert cfg == {'clip': 8, 'model': {'backbone': {'depth': 23, 'in_channels': 3}}}
    assert parse_config_text('model = dict(') == {}  # not Python: nothing


def test_spec_reads_every_frame_sampler_and_the_crop():
    cfg = parse_config_text(
        "test_pipeline = [dict(type='DecordInit'),\n"
        "    dict(type='DenseSampleFrames', clip_len=16, frame_interval=2, num_clips=4),\n"
        "    dict(type='Resize', scale=(-1, 128)), dict(type='ThreeCrop', crop_size=112)]\n"
        "train_cfg = dict(max_epochs=3)\n")
    args, spec, notes = spec_from_config(cfg)
    assert args == {} and notes == ['schedule: 3 epochs']
    assert spec == {'num_frames': 16, 'frame_interval': 2, 'test_num_clips': 4,
                    'input_size': [3, 112, 112], 'test_crop': 'ThreeCrop',
                    'resize_short_side': 128}

