"""tools/demo.py (smallbig_mm.cli.demo over smallbig_mm.apis) on the committed demo clip, with a
narrow model; refusals and mid-decode failures as one line."""

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import PYTHON, TINY_CONFIG, run_tool
from smallbig_mm.apis import open_video, render
from smallbig_mm.apis.mmaction_model import (
    ConfigModelError,
    RandomWeightsWarning,
    RecognizerVideoClassifier,
    build_recognizer,
    split_pipeline,
)
from smallbig_mm.apis.windows import spread_starts
from smallbig_mm.cli import demo

pytestmark = pytest.mark.mmaction

REPO = Path(__file__).resolve().parents[2]
VIDEO = REPO / 'demo' / 'demo.mp4'
LABELS = REPO / 'demo' / 'label_map_k400.txt'
K400 = (
    REPO
    / 'configs'
    / 'recognition'
    / 'smallbig'
    / 'smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py'
)
STHV2 = (
    REPO
    / 'configs'
    / 'recognition'
    / 'smallbig'
    / 'smallbig_imagenet-pretrained-r50_8xb8-u8-100e_sthv2-rgb.py'
)
# base width 4 (head input 4 * 8 * 4) and 32x32 crops: the demo runs in about a second
# (steps 3 and 4 of the test pipeline the demo uses by default: Resize and ThreeCrop)
TINY = [
    '+model.backbone.base_channels=4',
    'model.cls_head.in_channels=128',
    'test_dataloader.dataset.pipeline.3.scale=(-1,32)',
    'test_dataloader.dataset.pipeline.4.crop_size=32',
]


def args_for(*extra: str, config: Path = K400) -> argparse.Namespace:
    return demo.parse_args(
        [
            str(config),
            str(VIDEO),
            '--no-progress',
            '--max-windows',
            '2',
            *extra,
            '--cfg-options',
            *TINY,
        ]
    )


def test_cli_prints_top5_and_writes_a_gif(tmp_path):
    """The user's command on the committed clip: top-5 names, a warning, a GIF."""
    out = tmp_path / 'out.gif'
    result = run_tool(
        [
            PYTHON,
            'tools/demo.py',
            str(K400),
            str(VIDEO),
            '--labels',
            str(LABELS),
            '--out',
            str(out),
            '--max-windows',
            '2',
            '--cfg-options',
            *TINY,
        ],
        cwd=REPO,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == f'Top-5 of {VIDEO} (2 windows of 8 frames):'
    names = LABELS.read_text().splitlines()
    ranked = lines[1:6]
    assert [line.split('.')[0].strip() for line in ranked] == ['1', '2', '3', '4', '5']
    assert all(line[5:45].strip() in names for line in ranked)
    scores = [float(line.split()[-1]) for line in ranked]
    assert scores == sorted(scores, reverse=True)
    assert 'RandomWeightsWarning' in result.stderr and 'random weights' in result.stderr
    assert 'windows: 2/2' in result.stderr and '\r' not in result.stderr  # plain progress in a pipe
    from PIL import Image

    with Image.open(out) as gif:  # 280 frames at 28 fps, every 4th: about 8 fps
        assert gif.n_frames == 70 and gif.size[0] == render.GIF_WIDTH


def mmaction_scores(model, pipeline, frames):
    """MMAction2's own path: the config's transforms, then ``Recognizer3D.test_step``."""
    from mmaction.registry import TRANSFORMS
    from mmengine.dataset import Compose, pseudo_collate

    _, steps = split_pipeline(pipeline)
    transforms = Compose([TRANSFORMS.build(step) for step in steps])
    shape = frames[0].shape[:2]
    packed = transforms(
        dict(
            imgs=list(frames),
            original_shape=shape,
            img_shape=shape,
            modality='RGB',
            num_clips=1,
            clip_len=len(frames),
            label=-1,
        )
    )
    with torch.no_grad():
        return model.test_step(pseudo_collate([packed]))[0].pred_score.numpy()


def test_checkpoint_weights_give_the_checkpoint_model_predictions(tmp_path):
    """With --checkpoint, the demo's scores are MMAction2's test_step scores of the saved
    model, window by window, averaged (no warning)."""
    args = args_for()
    with pytest.warns(RandomWeightsWarning):
        model, cfg = build_recognizer(str(K400), None, args.cfg_options)
    torch.nn.init.normal_(model.cls_head.fc_cls.weight, std=0.5)  # a model unlike init
    checkpoint = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()}, checkpoint)
    with warnings.catch_warnings():
        warnings.simplefilter('error', RandomWeightsWarning)
        got = demo.run(args_for('--checkpoint', str(checkpoint)), echo=lambda line: None)
    assert [w.start for w in got.windows] == [0, 216]
    video = open_video(str(VIDEO))
    expected = [
        mmaction_scores(model, cfg.test_dataloader.dataset.pipeline, video.frames(w.frame_inds))
        for w in got.windows
    ]
    np.testing.assert_allclose(got.clip_scores, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.video_scores, np.mean(expected, 0), rtol=1e-5, atol=1e-7)
    assert got.top_k(1)[0][0] == int(np.argmax(got.video_scores))


def test_segment_sampling_config_scores_one_window_and_writes_mp4(tmp_path, capsys):
    """A Something-Something config samples segments over the whole video: one window."""
    out = tmp_path / 'out.mp4'
    with pytest.warns(RandomWeightsWarning):
        result = demo.run(args_for('--out', str(out), config=STHV2))
    assert len(result.windows) == 1 and result.video_scores.shape == (174,)
    assert 'class ' in capsys.readouterr().out  # no label map: class numbers
    written = open_video(str(out))
    assert len(written) == 280 and written.frames([0])[0].shape == (256, 340, 3)
    assert [p.name for p in tmp_path.iterdir()] == ['out.mp4']  # no temp file left


def main_error(capsys, argv, status: int = 1) -> str:
    """Runs the demo expecting a user error: exit ``status`` (2: usage) and one ``error:``
    line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        demo.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == status and err[-1].startswith('error: '), err
    return err[-1]


@pytest.mark.parametrize(
    'make_input, message, status',
    [
        (lambda tmp: tmp / 'missing.mp4', 'video not found', 2),
        (lambda tmp: tmp, 'is a directory', 1),
        (lambda tmp: os.mkfifo(tmp / 'pipe.mp4') or tmp / 'pipe.mp4', 'is a FIFO (named pipe)', 1),
        (
            lambda tmp: (tmp / 'broken.mp4').write_bytes(b'not a video') and tmp / 'broken.mp4',
            'cannot read video',
            1,
        ),
    ],
    ids=['missing', 'directory', 'fifo', 'unreadable'],
)
def test_bad_video_is_a_clear_error(tmp_path, capsys, make_input, message, status):
    video = make_input(tmp_path)
    assert message in main_error(capsys, [str(K400), str(video)], status)


def test_bad_label_map_and_checkpoint_are_clear_errors(tmp_path, capsys):
    short = tmp_path / 'labels.txt'
    short.write_text('a\nb\n')
    with pytest.warns(RandomWeightsWarning):
        assert 'has 2 names but the model predicts 400 classes' in main_error(
            capsys, [str(K400), str(VIDEO), '--labels', str(short), '--cfg-options', *TINY]
        )
    assert 'label map not found' in main_error(
        capsys, [str(K400), str(VIDEO), '--labels', str(tmp_path / 'none.txt')]
    )
    assert 'checkpoint file not found' in main_error(
        capsys, [str(K400), str(VIDEO), '--checkpoint', str(tmp_path / 'none.pth')], 2
    )
    assert 'config file not found' in main_error(capsys, [str(tmp_path / 'none.py'), str(VIDEO)], 2)
    assert 'use a .mp4, .avi or .gif' in main_error(
        capsys, [str(K400), str(VIDEO), '--out', str(tmp_path / 'x.webm')], 2
    )


def test_out_refuses_an_existing_file_and_the_input_video(tmp_path, capsys):
    existing = tmp_path / 'old.mp4'
    existing.write_bytes(b'the user made this')
    assert 'exists; refusing to overwrite it (pass --force' in main_error(
        capsys, [str(K400), str(VIDEO), '--out', str(existing)]
    )
    assert existing.read_bytes() == b'the user made this'
    copy = tmp_path / 'input.mp4'
    copy.write_bytes(VIDEO.read_bytes())
    for extra in ([], ['--force']):  # never onto the input, even with --force
        assert 'would overwrite the input' in main_error(
            capsys, [str(K400), str(copy), '--out', str(copy), *extra], 2
        )
    assert copy.read_bytes() == VIDEO.read_bytes()


def test_force_replaces_the_output_atomically(tmp_path):
    out = tmp_path / 'old.gif'
    out.write_bytes(b'old')
    with pytest.warns(RandomWeightsWarning):
        demo.run(args_for('--out', str(out), '--force'), echo=lambda line: None)
    assert out.read_bytes()[:3] == b'GIF' and [p.name for p in tmp_path.iterdir()] == ['old.gif']


class FailingReader:
    """A decord reader whose data is cut: frames from ``good`` on fail to decode."""

    def __init__(self, reader, good: int) -> None:
        self.reader, self.good = reader, good

    def __len__(self):
        return len(self.reader)

    def get_avg_fps(self):
        return self.reader.get_avg_fps()

    def get_batch(self, indices):
        import decord

        if max(indices) >= self.good:
            raise decord.DECORDError(
                '[12:00:00] src/video/video_reader.cc:486: Error: '
                'av_read_frame failed with 1094995529'
            )
        return self.reader.get_batch(indices)


@pytest.mark.parametrize('good', [100, 250], ids=['while-scoring', 'while-writing'])
def test_a_video_failing_mid_decode_is_one_line_and_keeps_the_old_output(
    tmp_path, capsys, monkeypatch, good
):
    """decord opens the file (its index is intact) but fails on a later frame, and so does
    PyAV (tried before the file is called damaged): one line naming the video, and the
    previous --out file is left as it was."""
    import decord

    from smallbig_mm.apis import video as video_module

    real = decord.VideoReader
    monkeypatch.setattr(
        decord, 'VideoReader', lambda path, **kw: FailingReader(real(path, **kw), good)
    )
    tried = []

    class FailingPyAV(video_module.PyAVReader):
        def get_batch(self, indices):
            tried.append(indices)
            raise RuntimeError('PyAV fails too')

    monkeypatch.setattr(video_module, 'PyAVReader', FailingPyAV)
    out = tmp_path / 'out.mp4'
    out.write_bytes(b'previous result')
    with pytest.warns(RandomWeightsWarning):
        line = main_error(
            capsys,
            [
                str(K400),
                str(VIDEO),
                '--out',
                str(out),
                '--force',
                '--no-progress',
                '--max-windows',
                '2',
                '--cfg-options',
                *TINY,
            ],
        )
    assert (
        line.startswith(f'error: cannot decode video {VIDEO} (frames ')
        and 'truncated or damaged' in line
        and 'with decord or PyAV' in line
        and tried
    )
    assert out.read_bytes() == b'previous result'
    assert [p.name for p in tmp_path.iterdir()] == ['out.mp4']  # no temp file left


def test_window_starts_cover_the_video_evenly():
    assert spread_starts(280, 64, 10) == [0, 72, 144, 216]
    assert spread_starts(280, 64, 2) == [0, 216]
    assert spread_starts(100, 64, 10) == [18]  # one window, centred
    assert spread_starts(40, 64, 10) == [0]  # shorter than a clip: the sampler loops
    assert spread_starts(6400, 64, 10) == [round(i * 704) for i in range(10)]


def test_split_pipeline_needs_one_sampler():
    sampler, transforms = split_pipeline(
        [
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=8),
            dict(type='DecordDecode'),
            dict(type='Resize', scale=(-1, 256)),
        ]
    )
    assert sampler['type'] == 'SampleFrames' and [t['type'] for t in transforms] == ['Resize']
    with pytest.raises(ConfigModelError, match='exactly one frame sampler'):
        split_pipeline([dict(type='DecordInit'), dict(type='Resize', scale=(-1, 256))])
    with pytest.raises(ConfigModelError, match=r"one frame sampler.*\['DenseSampleFrames'\]"):
        split_pipeline([dict(type='DenseSampleFrames', clip_len=8), dict(type='Resize')])


def test_three_crops_of_a_val_pipeline_whose_crop_is_short_are_one_line():
    """``--pipeline val --crop three`` on a Kinetics-style val pipeline (resize 40, crop 24):
    MMAction2's ``ThreeCrop`` asserts that the crop spans the short side (a traceback)."""
    with pytest.warns(RandomWeightsWarning):
        model, _ = build_recognizer(str(TINY_CONFIG))
    steps = [
        dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1, test_mode=True),
        dict(type='Resize', scale=(-1, 40)),
        dict(type='CenterCrop', crop_size=24),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]
    frames = np.zeros((4, 32, 48, 3), np.uint8)
    with pytest.raises(ConfigModelError, match=r"crop='three'.*--pipeline test"):
        RecognizerVideoClassifier(model, steps, crop='three').preprocess(frames)
    steps[1] = dict(type='Resize', scale=(-1, 24))  # a test pipeline's: the crop fits
    views = RecognizerVideoClassifier(model, steps, crop='three').preprocess(frames)
    assert views.shape == (3, 3, 4, 24, 24)
