"""tools/demo.py and smallbig_mm.mmaction.demo on the committed demo clip, with a narrow model."""
import argparse
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import PYTHON, run_tool
from smallbig_mm.mmaction import demo

REPO = Path(__file__).resolve().parents[2]
VIDEO = REPO / 'demo' / 'demo.mp4'
LABELS = REPO / 'demo' / 'label_map_k400.txt'
K400 = REPO / 'configs' / 'recognition' / 'smallbig' / \
    'smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py'
STHV2 = REPO / 'configs' / 'recognition' / 'smallbig' / \
    'smallbig_imagenet-pretrained-r50_8xb8-u8-100e_sthv2-rgb.py'
# base width 4 (head input 4 * 8 * 4) and 32x32 crops: the demo runs in about a second
# (val_pipeline steps 3 and 4: Resize and CenterCrop)
TINY = ['model.backbone.base_channels=4', 'model.cls_head.in_channels=128',
        'val_pipeline.3.scale=(-1,40)', 'val_pipeline.4.crop_size=32']


def args_for(*extra: str, config: Path = K400) -> argparse.Namespace:
    return demo.parse_args([str(config), str(VIDEO), '--no-progress', '--max-windows', '2',
                            *extra, '--cfg-options', *TINY])


def test_cli_prints_top5_and_writes_a_gif(tmp_path):
    """The user's command on the committed clip: top-5 names, a warning, a GIF."""
    out = tmp_path / 'out.gif'
    result = run_tool([PYTHON, 'tools/demo.py', str(K400), str(VIDEO), '--labels', str(LABELS),
                       '--out', str(out), '--max-windows', '2', '--cfg-options', *TINY],
                      cwd=REPO)
    lines = result.stdout.splitlines()
    assert lines[0] == f'Top-5 of {VIDEO} (2 windows of 8 frames):'
    names = LABELS.read_text().splitlines()
    ranked = lines[1:6]
    assert [line.split('.')[0].strip() for line in ranked] == ['1', '2', '3', '4', '5']
    assert all(line[5:45].strip() in names for line in ranked)
    scores = [float(line.split()[-1]) for line in ranked]
    assert scores == sorted(scores, reverse=True)
    assert 'RandomWeightsWarning' in result.stderr and 'random weights' in result.stderr
    assert 'windows:' in result.stderr  # the progress bar (2 windows)
    from PIL import Image

    with Image.open(out) as gif:  # 280 frames at 28 fps, every 4th: about 8 fps
        assert gif.n_frames == 70 and gif.size[0] == demo.GIF_WIDTH


def test_checkpoint_weights_give_the_checkpoint_model_predictions(tmp_path):
    """With --checkpoint, the demo's scores are those of the saved model (no warning)."""
    args = args_for()
    with pytest.warns(demo.RandomWeightsWarning):
        model, cfg = demo.build_recognizer(str(K400), None, args.cfg_options)
    torch.nn.init.normal_(model.cls_head.fc_cls.weight, std=0.5)  # a model unlike init
    checkpoint = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()}, checkpoint)
    expected = demo.recognize(model, demo.open_video(str(VIDEO)), cfg.val_pipeline,
                              max_windows=2, show_progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter('error', demo.RandomWeightsWarning)
        got = demo.run(args_for('--checkpoint', str(checkpoint)), echo=lambda line: None)
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-5, atol=1e-7)
    assert got.windows == [0, 216] and got.top_k(1)[0][0] == int(np.argmax(expected.scores))


def test_segment_sampling_config_scores_one_window_and_writes_mp4(tmp_path, capsys):
    """A Something-Something config samples segments over the whole video: one window."""
    out = tmp_path / 'out.mp4'
    with pytest.warns(demo.RandomWeightsWarning):
        prediction = demo.run(args_for('--out', str(out), config=STHV2))
    assert prediction.windows == [0] and prediction.scores.shape == (174,)
    assert 'class ' in capsys.readouterr().out  # no label map: class numbers
    reader = demo.open_video(str(out))
    assert len(reader) == 280 and reader[0].shape == (256, 340, 3)


@pytest.mark.parametrize('make_input, message', [
    (lambda tmp: tmp / 'missing.mp4', 'video not found'),
    (lambda tmp: tmp, 'is a directory'),
    (lambda tmp: (tmp / 'broken.mp4').write_bytes(b'not a video') and tmp / 'broken.mp4',
     'cannot read video'),
], ids=['missing', 'directory', 'unreadable'])
def test_bad_video_is_a_clear_error(tmp_path, make_input, message):
    video = make_input(tmp_path)
    with pytest.raises(SystemExit, match=message):
        demo.main([str(K400), str(video)])


def test_bad_label_map_and_checkpoint_are_clear_errors(tmp_path):
    short = tmp_path / 'labels.txt'
    short.write_text('a\nb\n')
    with pytest.raises(SystemExit, match='has 2 names but the model predicts 400 classes'), \
            pytest.warns(demo.RandomWeightsWarning):
        demo.main([str(K400), str(VIDEO), '--labels', str(short), '--cfg-options', *TINY])
    with pytest.raises(SystemExit, match='label map not found'):
        demo.main([str(K400), str(VIDEO), '--labels', str(tmp_path / 'none.txt')])
    with pytest.raises(SystemExit, match='checkpoint file not found'):
        demo.main([str(K400), str(VIDEO), '--checkpoint', str(tmp_path / 'none.pth')])
    with pytest.raises(SystemExit, match='use a .mp4, .avi or .gif'):
        demo.main([str(K400), str(VIDEO), '--out', str(tmp_path / 'x.webm')])


def test_window_starts_cover_the_video_evenly():
    assert demo.window_starts(280, 64, 10) == [0, 72, 144, 216]
    assert demo.window_starts(280, 64, 2) == [0, 216]
    assert demo.window_starts(100, 64, 10) == [18]  # one window, centred
    assert demo.window_starts(40, 64, 10) == [0]  # shorter than a clip: the sampler loops
    assert demo.window_starts(6400, 64, 10) == [round(i * 704) for i in range(10)]


def test_split_pipeline_needs_one_sampler():
    sampler, transforms = demo.split_pipeline([
        dict(type='DecordInit'), dict(type='SampleFrames', clip_len=8),
        dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 256))])
    assert sampler['type'] == 'SampleFrames' and [t['type'] for t in transforms] == ['Resize']
    with pytest.raises(demo.DemoError, match='exactly one frame sampler'):
        demo.split_pipeline([dict(type='DecordInit'), dict(type='Resize', scale=(-1, 256))])
