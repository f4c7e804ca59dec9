"""The feature extractor's outputs know where they came from (issue 19, issue 20 item 7):
stale features are refused naming what differs, same-named videos never collide, files
the tool did not write are never replaced, a killed extraction is redone on a rerun, and
MMAction2 annotation lists (video and rawframe) are read under the config's data_prefix.
Through the real tool (tools/misc/extract_features.py) on generated videos."""

import json
import signal
import subprocess
import time

import numpy as np
import pytest
import torch

from helpers import PYTHON, REPO, TINY_CONFIG, assert_one_error, run_main_status
from smallbig_mm.apis import open_video
from smallbig_mm.data.motion import MotionSettings, make_clip, write_mp4

pytestmark = pytest.mark.mmaction  # runs MMAction2 configs or tools

TOOL = str(REPO / 'tools' / 'misc' / 'extract_features.py')


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A tiny checkpoint, a second one, and videos a/clip.mp4, b/clip.mp4 (different)."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    root = tmp_path_factory.mktemp('provenance')
    init_default_scope('mmaction')
    for name, seed in (('tiny.pth', 0), ('other.pth', 1)):
        torch.manual_seed(seed)
        model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
        torch.save({'state_dict': model.state_dict()}, root / name)
    settings = MotionSettings(num_frames=16, step=0.03)
    for index, folder in enumerate(('a', 'b')):
        (root / folder).mkdir()
        frames, _ = make_clip(settings, 'val', index)
        write_mp4(root / folder / 'clip.mp4', frames, fps=8)
    (root / 'both.txt').write_text('a/clip.mp4\nb/clip.mp4\n')
    return root


def extract(root, videos, out, *extra, checkpoint='tiny.pth'):
    """The tool in this process (``run_main_status``); the first test and the killed run
    start it as a user does."""
    return run_main_status(
        'smallbig-extract-features',
        [
            str(TINY_CONFIG),
            str(root / checkpoint),
            str(videos),
            '--out',
            str(out),
            '--stride',
            '8',
            '--no-progress',
            *extra,
        ],
        root,
    )


def ok(result):
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_same_stems_do_not_collide_and_other_inputs_are_named(inputs):
    root = inputs
    out = root / 'both'
    with open(root / 'console.log', 'w') as log:  # output redirected to a file
        done = subprocess.run(
            [
                PYTHON,
                TOOL,
                str(TINY_CONFIG),
                str(root / 'tiny.pth'),
                str(root / 'both.txt'),
                '--out',
                str(out),
                '--stride',
                '8',
            ],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    console = (root / 'console.log').read_text()
    assert done.returncode == 0, console[-3000:]
    assert '\r' not in console and 'Warning' not in console, console  # no bar, no noise
    assert console.splitlines() == ['videos: 2/2', f'features of 2 of 2 video(s) in {out}']
    a, b = np.load(out / 'a' / 'clip.npy'), np.load(out / 'b' / 'clip.npy')
    assert a.shape == b.shape and not np.allclose(a, b)
    # a single video writes <stem>.npy; b/clip.mp4 after a/clip.mp4 is another input
    single = root / 'single'
    ok(extract(root, root / 'a' / 'clip.mp4', single))
    assert_one_error(
        extract(root, root / 'b' / 'clip.mp4', single),
        1,
        'inputs.video.path',
        'other inputs or settings',
        '--force',
    )
    np.testing.assert_array_equal(np.load(single / 'clip.npy'), a)


def test_changed_settings_or_checkpoint_are_refused_and_force_recomputes(inputs):
    root = inputs
    out = root / 'settings'
    ok(extract(root, root / 'a' / 'clip.mp4', out, '--clip-len', '4'))
    windows = json.loads((out / 'clip.json').read_text())['windows']
    assert len(windows[0]['frames']) == 4
    for extra, differs in (
        ((), 'settings.clip_len 4 (now None)'),
        (('--clip-len', '4', '--pipeline', 'val'), 'settings.pipeline'),
        (('--clip-len', '4', '--batch', '3'), 'settings.batch 8 (now 3)'),
        (
            ('--clip-len', '4', '--cfg-options', 'model.cls_head.dropout_ratio=0.1'),
            'settings.cfg_options',
        ),
    ):
        assert_one_error(extract(root, root / 'a' / 'clip.mp4', out, *extra), 1, differs)
    # the same file name, new content (a checkpoint replaced in place)
    ckpt = root / 'ckpt_in_place.pth'
    ckpt.write_bytes((root / 'tiny.pth').read_bytes())
    ok(extract(root, root / 'a' / 'clip.mp4', root / 'ckpt', checkpoint=ckpt.name))
    ckpt.write_bytes((root / 'other.pth').read_bytes())
    assert_one_error(
        extract(root, root / 'a' / 'clip.mp4', root / 'ckpt', checkpoint=ckpt.name),
        1,
        'inputs.checkpoint.sha256 (content changed)',
    )
    before = np.load(root / 'ckpt' / 'clip.npy')
    forced = ok(
        extract(root, root / 'a' / 'clip.mp4', root / 'ckpt', '--force', checkpoint=ckpt.name)
    )
    assert '--force: recomputing 1 video(s)' in forced.stderr
    assert not np.allclose(np.load(root / 'ckpt' / 'clip.npy'), before)
    again = ok(extract(root, root / 'a' / 'clip.mp4', root / 'ckpt', checkpoint=ckpt.name))
    assert 'skipping 1 finished video(s)' in again.stderr


def test_files_the_tool_did_not_write_are_kept_even_with_force(inputs):
    root = inputs
    out = root / 'users'
    out.mkdir()
    (out / 'clip.json').write_text('{"my": "notes"}')
    (out / 'a').mkdir()
    (out / 'a' / 'clip.npy').write_bytes(b'my array')
    for videos, name in ((root / 'a' / 'clip.mp4', 'clip.json'), (root / 'both.txt', 'clip.npy')):
        for extra in ((), ('--force',)):
            assert_one_error(
                extract(root, videos, out, *extra), 1, name, 'did not write', 'even with --force'
            )
    (out / 'clip.json').write_text('{"truncated')  # a corrupt index is named, not parsed
    assert_one_error(extract(root, root / 'a' / 'clip.mp4', out), 1, 'cannot be read as JSON')
    assert (out / 'a' / 'clip.npy').read_bytes() == b'my array'


def test_a_killed_extraction_is_redone_on_the_rerun(inputs, tmp_path):
    root = inputs
    out = tmp_path / 'killed'
    args = [
        PYTHON,
        TOOL,
        str(TINY_CONFIG),
        str(root / 'tiny.pth'),
        str(root / 'both.txt'),
        '--out',
        str(out),
        '--stride',
        '1',
        '--batch',
        '1',
        '--no-progress',
    ]
    process = subprocess.Popen(args, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (out / 'b' / 'clip.json').exists() and process.poll() is None:
        assert time.monotonic() < deadline, 'the extraction never reached the second video'
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # a is complete, b was being computed
    process.wait()
    assert json.loads((out / 'a' / 'clip.json').read_text())['complete'] is True
    assert json.loads((out / 'b' / 'clip.json').read_text())['complete'] is False
    kept = (out / 'a' / 'clip.npy').stat()
    rerun = ok(extract(root, root / 'both.txt', out, '--stride', '1', '--batch', '1'))
    assert 'skipping 1 finished video(s) made from the same inputs and settings' in rerun.stderr
    assert 'recomputing 1 video(s) whose extraction was interrupted' in rerun.stderr
    again = (out / 'a' / 'clip.npy').stat()  # the complete, matching output is kept as is
    assert (again.st_ino, again.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)
    assert json.loads((out / 'b' / 'clip.json').read_text())['complete'] is True
    assert not [p for p in out.rglob('.*tmp-*')]
    reference = tmp_path / 'reference'  # an uninterrupted run; the same batches, the same bits
    ok(extract(root, root / 'both.txt', reference, '--stride', '1', '--batch', '1'))
    for name in ('a', 'b'):
        np.testing.assert_array_equal(
            np.load(out / name / 'clip.npy'), np.load(reference / name / 'clip.npy')
        )


def test_mmaction_video_and_rawframe_annotation_lists(inputs, tmp_path):
    root = inputs
    ann = tmp_path / 'val_list_videos.txt'  # BOM and CRLF, as saved by some editors
    ann.write_bytes(b'\xef\xbb\xbfa/clip.mp4 1\r\nb/clip.mp4 0\r\n')
    prefix = f'val_dataloader.dataset.data_prefix.video={root}'
    ok(extract(root, ann, tmp_path / 'videos', '--pipeline', 'val', '--cfg-options', prefix))
    plain = tmp_path / 'plain'
    ok(extract(root, root / 'both.txt', plain, '--pipeline', 'val'))
    for name in ('a', 'b'):
        np.testing.assert_array_equal(
            np.load(tmp_path / 'videos' / name / 'clip.npy'), np.load(plain / name / 'clip.npy')
        )
    # the same frames as PNG files (lossless): RawframeDataset layout
    import cv2

    frames_root = tmp_path / 'rawframes'
    for name in ('a', 'b'):
        video = open_video(str(root / name / 'clip.mp4'))
        (frames_root / name).mkdir(parents=True)
        for index, frame in enumerate(video.frames(range(video.num_frames))):
            cv2.imwrite(str(frames_root / name / f'img_{index + 1:05}.png'), frame[..., ::-1])
    rawframes = tmp_path / 'val_list_rawframes.txt'
    rawframes.write_text(f'a {video.num_frames} 1\nb {video.num_frames} 0\n')
    ok(
        extract(
            root,
            rawframes,
            tmp_path / 'frames',
            '--pipeline',
            'val',
            '--cfg-options',
            'val_dataloader.dataset.type=RawframeDataset',
            f'+val_dataloader.dataset.data_prefix.img={frames_root}',
            '+val_dataloader.dataset.filename_tmpl=img_{:05}.png',
        )
    )
    for name in ('a', 'b'):
        np.testing.assert_allclose(
            np.load(tmp_path / 'frames' / f'{name}.npy'),
            np.load(plain / name / 'clip.npy'),
            rtol=1e-5,
            atol=1e-6,
        )


def test_a_full_disk_is_one_line_naming_the_file_and_what_was_kept(
    inputs, tmp_path, capsys, monkeypatch
):
    import errno

    from smallbig_mm.cli import extract_features

    root = inputs
    out = tmp_path / 'full'
    real_save, saved = np.save, []

    def save(path, array):  # the second video's features hit a full disk
        if saved:
            with open(path, 'wb') as f:
                f.write(b'partial')
            raise OSError(errno.ENOSPC, 'No space left on device')
        saved.append(path)
        real_save(path, array)

    monkeypatch.setattr(np, 'save', save)
    with pytest.raises(SystemExit) as done:
        extract_features.main(
            [
                str(TINY_CONFIG),
                str(root / 'tiny.pth'),
                str(root / 'both.txt'),
                '--out',
                str(out),
                '--stride',
                '8',
                '--no-progress',
            ]
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 1 and err[-1] == (
        f'error: {out / "b" / "clip.npy"}: no space left on device while writing it; nothing '
        'was written (the partial temporary file is removed): free some space or choose '
        f'another disk; the features of 1 finished video(s) in {out} are kept, a rerun '
        'continues with the rest'
    ), err
    assert sorted(p.name for p in (out / 'b').iterdir()) == []  # no partial file, no index
    assert json.loads((out / 'a' / 'clip.json').read_text())['complete'] is True
