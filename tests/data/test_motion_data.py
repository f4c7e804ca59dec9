"""The built-in smooth-vs-shuffled motion dataset: content, files, readers, CLI."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from smallbig_mm.data import (CLASSES, MotionSettings, generate_motion_dataset, make_clip,
                              render_smooth_clip, shuffle_order)
from smallbig_mm.utils.files import OutputPathError

ROOT = Path(__file__).resolve().parents[2]
TINY = MotionSettings(num_train=4, num_val=2)


def square_centres(frames: np.ndarray, floor: float = 0.) -> np.ndarray:
    """Centre (x, y) of the square in each frame, shape (T, 2).

    Pixels are weighted by their brightness above the background (exact for noise-free
    anti-aliased frames); weights below ``floor`` are dropped (to ignore noise).
    """
    grey = frames.astype(np.float64).mean(axis=-1)
    weight = np.clip(grey - np.median(grey, axis=(1, 2), keepdims=True), 0, None)
    weight[weight < floor] = 0
    ys, xs = np.mgrid[:grey.shape[1], :grey.shape[2]]
    total = weight.sum(axis=(1, 2))
    return np.stack([(weight * xs).sum(axis=(1, 2)) / total,
                     (weight * ys).sum(axis=(1, 2)) / total], axis=1)


def is_smooth(frames: np.ndarray, tol: float = 0.3) -> bool:
    """Whether the square moves at a constant velocity (second differences near 0)."""
    return bool(np.abs(np.diff(square_centres(frames), n=2, axis=0)).max() < tol)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    return generate_motion_dataset(tmp_path_factory.mktemp('motion') / 'data', TINY)


@pytest.mark.parametrize('num_frames', [4, 5, 8, 16])
def test_shuffle_never_keeps_neighbours(num_frames):
    rng = np.random.default_rng(0)
    for _ in range(200):
        order = shuffle_order(num_frames, rng)
        assert sorted(order.tolist()) == list(range(num_frames))
        assert np.all(np.abs(np.diff(order)) > 1)  # so never identity nor reversal


def test_shuffle_rejects_too_few_frames():
    with pytest.raises(ValueError, match='num_frames'):
        shuffle_order(3, np.random.default_rng(0))


def test_clip_shape_range_and_motion():
    settings = MotionSettings(noise=0.)
    frames = render_smooth_clip(settings, np.random.default_rng(1))
    assert frames.shape == (8, 32, 32, 3) and frames.dtype == np.uint8
    assert is_smooth(frames)
    speed = np.linalg.norm(np.diff(square_centres(frames), axis=0), axis=1)
    np.testing.assert_allclose(speed, settings.step * settings.size, atol=0.1)


@pytest.mark.parametrize('index', range(6))
def test_classes_share_frames_and_differ_in_order(index):
    """A shuffled clip is a smooth clip's very frames in an order without smooth motion."""
    frames, label = make_clip(MotionSettings(noise=0.), 'train', index)
    assert label == index % 2
    if label == 0:
        assert is_smooth(frames)
        return
    assert not is_smooth(frames, tol=1.)
    # sorting the frames along the motion recovers a constant-velocity clip
    centres = square_centres(frames)
    direction = centres[np.argmax(centres @ [1, 1])] - centres[np.argmin(centres @ [1, 1])]
    restored = frames[np.argsort(centres @ direction)]
    assert is_smooth(restored)


def test_clips_are_deterministic_and_seeded():
    a, _ = make_clip(MotionSettings(seed=3), 'val', 5)
    b, _ = make_clip(MotionSettings(seed=3), 'val', 5)
    c, _ = make_clip(MotionSettings(seed=4), 'val', 5)
    d, _ = make_clip(MotionSettings(seed=3), 'train', 5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


@pytest.mark.parametrize('change, name', [
    (dict(num_train=1), 'num_train'), (dict(num_val=0), 'num_val'),
    (dict(num_frames=3), 'num_frames'), (dict(size=33), 'size'), (dict(size=8), 'size'),
    (dict(square=0), 'square'), (dict(step=0.), 'step'), (dict(step=0.2), 'travels'),
    (dict(noise=-1.), 'noise'), (dict(fps=0), 'fps'), (dict(seed=-1), 'seed'),
    (dict(num_train=2.5), 'num_train'), (dict(seed=True), 'seed'),
    (dict(size=100_000, step=1e-6), 'rendering one clip would need'),
    (dict(num_frames=10**9, step=1e-12), 'rendering one clip would need'),
])
def test_bad_settings_name_the_argument(change, name, tmp_path):
    settings = MotionSettings(**change)
    with pytest.raises(ValueError, match=name):
        generate_motion_dataset(tmp_path / 'out', settings)
    assert not (tmp_path / 'out').exists()


def test_annotation_lists_and_label_map(dataset):
    assert dataset.label_map.read_text().splitlines() == list(CLASSES)
    for ann, count, split in [(dataset.train_ann, 4, 'train'), (dataset.val_ann, 2, 'val')]:
        lines = ann.read_text().splitlines()
        assert lines == [f'{split}/{i:06d}.mp4 {i % 2}' for i in range(count)]
        for line in lines:
            assert (dataset.root / line.split()[0]).stat().st_size > 0


def _read_decord(path: Path) -> np.ndarray:
    decord = pytest.importorskip('decord')
    reader = decord.VideoReader(str(path))
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def _read_pyav(path: Path) -> np.ndarray:
    av = pytest.importorskip('av')
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format='rgb24') for f in container.decode(video=0)])


def _read_opencv(path: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    capture.release()
    return np.stack(frames)


@pytest.mark.parametrize('read', [_read_decord, _read_pyav, _read_opencv])
def test_every_reader_gets_the_rendered_frames(read, dataset):
    for index in range(TINY.num_train):
        frames, _ = make_clip(TINY, 'train', index)
        decoded = read(dataset.root / f'train/{index:06d}.mp4')
        assert decoded.shape == frames.shape
        # lossy mp4v: the pixel noise (std 8) is smoothed, the square survives
        assert np.abs(decoded.astype(int) - frames).mean() < 10
        np.testing.assert_allclose(square_centres(decoded, floor=30),
                                   square_centres(frames, floor=30), atol=0.5)


@pytest.mark.mmaction
def test_mmaction_video_dataset_reads_the_lists(dataset):
    pytest.importorskip('mmaction')
    import smallbig_mm.mmaction  # noqa: F401  (stack fixes)
    from mmaction.datasets import VideoDataset
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    for backend in ('Decord', 'PyAV', 'OpenCV'):
        ds = VideoDataset(
            str(dataset.val_ann), data_prefix=dict(video=str(dataset.root)), test_mode=True,
            pipeline=[dict(type=f'{backend}Init'),
                      dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1,
                           test_mode=True),
                      dict(type=f'{backend}Decode')])
        sample = ds[1]
        assert len(ds) == 2 and sample['label'] == 1 and sample['total_frames'] == 8
        assert sample['frame_inds'].tolist() == list(range(8))
        assert np.stack(sample['imgs']).shape == (8, 32, 32, 3)


def test_regeneration_is_reused_not_rewritten(dataset):
    video = dataset.root / 'train/000000.mp4'
    before = video.stat().st_mtime_ns
    again = generate_motion_dataset(dataset.root, TINY)
    assert again.reused and video.stat().st_mtime_ns == before


def test_same_seed_same_data_elsewhere(dataset, tmp_path):
    other = generate_motion_dataset(tmp_path / 'copy', TINY)
    assert not other.reused
    assert other.train_ann.read_text() == dataset.train_ann.read_text()
    path = 'val/000001.mp4'
    np.testing.assert_array_equal(_read_opencv(other.root / path),
                                  _read_opencv(dataset.root / path))


def test_refuses_foreign_or_different_content(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_motion_dataset(out, TINY)
    assert sorted(p.name for p in out.iterdir()) == ['notes.txt']

    (tmp_path / 'file').write_text('x')
    with pytest.raises(FileExistsError, match='not a folder'):
        generate_motion_dataset(tmp_path / 'file', TINY)

    data = generate_motion_dataset(tmp_path / 'data', TINY)
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_motion_dataset(data.root, MotionSettings(num_train=4, num_val=2, seed=1))
    (data.root / 'val/000001.mp4').unlink()  # incomplete: refused, not silently reused
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_motion_dataset(data.root, TINY)


def test_overwrite_replaces_only_generated_files(tmp_path):
    out = tmp_path / 'out'
    generate_motion_dataset(out, MotionSettings(num_train=6, num_val=2))
    (out / 'notes.txt').write_text('mine')
    data = generate_motion_dataset(out, TINY, overwrite=True)
    assert not data.reused
    assert (out / 'notes.txt').read_text() == 'mine'
    assert sorted(p.name for p in (out / 'train').iterdir()) == [
        f'{i:06d}.mp4' for i in range(4)]
    assert generate_motion_dataset(out, TINY).reused
    assert [p.name for p in tmp_path.iterdir()] == ['out']  # no temporary folder left


def test_overwrite_never_deletes_files_the_generator_did_not_write(tmp_path):
    out = tmp_path / 'out'
    generate_motion_dataset(out, TINY)
    (out / 'train' / 'my_clip.mp4').write_bytes(b'mine')
    with pytest.raises(OutputPathError, match='my_clip.mp4'):
        generate_motion_dataset(out, MotionSettings(num_train=6, num_val=2), overwrite=True)
    assert (out / 'train' / 'my_clip.mp4').read_bytes() == b'mine'
    assert generate_motion_dataset(out, TINY).reused  # the dataset is as it was


def _cli():
    spec = importlib.util.spec_from_file_location(
        'generate_motion', ROOT / 'tools/data/generate_motion.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_generates_reuses_and_reports_errors(tmp_path, capsys):
    cli = _cli()
    args = ['--out-dir', str(tmp_path / 'd'), '--num-train', '4', '--num-val', '2']
    assert cli.main(args) == 0
    assert 'Wrote 4 training and 2 validation clips' in capsys.readouterr().out
    assert cli.main(args) == 0
    assert 'Reusing' in capsys.readouterr().out
    assert cli.main(args + ['--seed', '1']) == 1  # an error, not a usage mistake
    assert '--force' in capsys.readouterr().err
    assert cli.main(args + ['--seed', '1', '--force']) == 0
    assert cli.main(args + ['--seed', '2', '--overwrite']) == 0  # the older, hidden name
    assert 'Wrote 4 training' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(['--help'])
    usage = capsys.readouterr().out
    assert '--force' in usage and '--overwrite' not in usage
    assert cli.main(args + ['--square', '31']) == 2  # in range alone, not with the path
    assert 'the square cannot stay inside the frame' in capsys.readouterr().err
