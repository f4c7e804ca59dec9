"""tools/misc/extract_features.py on generated videos and a tiny recognizer: outputs, the
features as the classifier's input, reruns, unreadable videos, and a 2-process torchrun."""

import json
import warnings

import numpy as np
import pytest
import torch

from helpers import PYTHON, REPO, TINY_CONFIG, free_port, run_tool, run_tool_status
from smallbig_mm.apis import open_video
from smallbig_mm.apis.mmaction_model import build_recognizer, split_pipeline
from smallbig_mm.data.motion import MotionSettings, make_clip, write_mp4

pytestmark = pytest.mark.mmaction

TOOL = str(REPO / 'tools' / 'misc' / 'extract_features.py')


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A tiny checkpoint, three 20-frame videos and a list naming them."""
    root = tmp_path_factory.mktemp('extract')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model, _ = build_recognizer(str(TINY_CONFIG))
    torch.nn.init.normal_(model.cls_head.fc_cls.weight, std=0.5)
    checkpoint = root / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    settings = MotionSettings(num_frames=20, step=0.03)
    names = []
    for index in range(3):
        frames, _ = make_clip(settings, 'val', index)
        write_mp4(root / f'clip{index}.mp4', frames, fps=8)
        names.append(f'clip{index}.mp4')
    (root / 'videos.txt').write_text('\n'.join(names) + '\n')
    return root, checkpoint, model


def extract(root, checkpoint, videos, out, *extra, ok=True):
    args = [
        PYTHON,
        TOOL,
        str(TINY_CONFIG),
        str(checkpoint),
        str(videos),
        '--out',
        str(out),
        '--stride',
        '4',
        '--batch',
        '2',
        *extra,
    ]
    return run_tool(args, cwd=root) if ok else run_tool_status(args, cwd=root)


def test_features_are_the_classifier_input_of_each_window(inputs):
    root, checkpoint, model = inputs
    out = root / 'single'
    result = extract(root, checkpoint, root / 'videos.txt', out, '--pipeline', 'val')
    assert 'features of 3 of 3 video(s)' in result.stdout
    assert 'videos: 3/3' in result.stderr  # the progress line
    features = np.load(out / 'clip1.npy')
    index = json.loads((out / 'clip1.json').read_text())
    # 20 frames, windows of 8 consecutive frames every 4: starts 0, 4, 8, 12
    assert features.shape == (4, 128) and features.dtype == np.float32
    assert [(w['start'], w['end']) for w in index['windows']] == [
        (0, 8),
        (4, 12),
        (8, 16),
        (12, 20),
    ]
    assert index['windows'][1]['frames'] == list(range(4, 12)) and index['fps'] == 8.0
    # MMAction2's own classification path for window 2: the input of cls_head.fc_cls
    from mmaction.registry import TRANSFORMS
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate

    _, steps = split_pipeline(Config.fromfile(TINY_CONFIG).val_pipeline)
    frames = list(open_video(str(root / 'clip1.mp4')).frames(range(8, 16)))
    packed = Compose([TRANSFORMS.build(s) for s in steps])(
        dict(
            imgs=frames,
            original_shape=(32, 32),
            img_shape=(32, 32),
            modality='RGB',
            num_clips=1,
            clip_len=8,
            label=-1,
        )
    )
    seen = []
    hook = model.cls_head.fc_cls.register_forward_hook(
        lambda module, args, output: seen.append(args[0].detach().clone())
    )
    with torch.no_grad():
        model.test_step(pseudo_collate([packed]))
    hook.remove()
    np.testing.assert_allclose(features[2], seen[0][0].numpy(), rtol=1e-5, atol=1e-6)


def test_rerun_skips_finished_videos_and_unreadable_ones_are_named(inputs):
    root, checkpoint, _ = inputs
    out = root / 'rerun'
    (root / 'broken.mp4').write_bytes(b'not a video')
    listed = root / 'with_broken.txt'
    listed.write_text('clip0.mp4\nbroken.mp4\nclip2.mp4\n')
    result = extract(root, checkpoint, listed, out, '--no-progress', ok=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert result.returncode == 1 and len(errors) == 1, result.stderr[-2000:]
    assert errors[0].startswith(f'error: cannot read video {root / "broken.mp4"}')
    assert 'features of 2 of 3 video(s)' in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        'clip0.json',
        'clip0.npy',
        'clip2.json',
        'clip2.npy',
    ]
    before = (out / 'clip0.npy').stat().st_mtime_ns
    again = extract(root, checkpoint, root / 'videos.txt', out, '--no-progress')
    assert 'skipping 2 finished video(s)' in again.stderr, again.stderr
    assert (out / 'clip0.npy').stat().st_mtime_ns == before and (out / 'clip1.npy').exists()


def test_bad_inputs_are_one_line(inputs, tmp_path):
    root, checkpoint, _ = inputs
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    listed = tmp_path / 'dup.txt'
    listed.write_text('a/x.mp4\nb/../a/x.mp4\n')
    for videos, message in (
        (listed, 'would both write a/x.npy'),
        (tmp_path / 'none.txt', 'video list not found'),
    ):
        result = extract(root, checkpoint, videos, tmp_path / 'out', ok=False)
        assert (
            result.returncode == 1
            and result.stderr.strip().splitlines()[-1].startswith('error: ')
            and message in result.stderr
        ), result.stderr[-2000:]


def test_torchrun_shards_the_list_over_two_processes(inputs):
    root, checkpoint, _ = inputs
    single, out = root / 'single_ref', root / 'sharded'
    extract(root, checkpoint, root / 'videos.txt', single, '--no-progress')
    result = run_tool(
        [
            PYTHON,
            '-m',
            'torch.distributed.run',
            '--nproc_per_node',
            '2',
            '--master_port',
            str(free_port()),
            TOOL,
            str(TINY_CONFIG),
            str(checkpoint),
            str(root / 'videos.txt'),
            '--out',
            str(out),
            '--stride',
            '4',
            '--no-progress',
        ],
        cwd=root,
    )
    assert 'features of 3 of 3 video(s)' in result.stdout
    for index in range(3):
        np.testing.assert_allclose(
            np.load(out / f'clip{index}.npy'),
            np.load(single / f'clip{index}.npy'),
            rtol=1e-5,
            atol=1e-6,
        )
