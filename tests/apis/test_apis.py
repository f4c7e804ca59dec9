"""smallbig_mm.apis: windows, crops and the timm route against independent references."""

import os

import numpy as np
import pytest
import torch

from smallbig_mm.apis import VideoReadError, from_timm, infer_video, open_video, plan_windows
from smallbig_mm.apis.models import crop_views
from smallbig_mm.apis.windows import segment_window
from smallbig_mm.data.motion import MotionSettings, make_clip, write_mp4


def test_windows_slide_by_stride_and_loop_past_a_short_video():
    windows = plan_windows(20, 4, 2, stride=4)
    assert [(w.start, w.end) for w in windows] == [(0, 8), (4, 12), (8, 16), (12, 20)]
    assert windows[1].frame_inds.tolist() == [4, 6, 8, 10]
    short = plan_windows(5, 4, 2, stride=3)  # one window, frames loop like SampleFrames
    assert len(short) == 1 and short[0].frame_inds.tolist() == [0, 2, 4, 1]
    with pytest.raises(ValueError, match='stride'):
        plan_windows(20, 4, stride=0)


@pytest.mark.parametrize('total', [9, 17, 280])
@pytest.mark.mmaction
def test_segments_are_mmaction2_uniform_sample_in_test_mode(total):
    from mmaction.datasets.transforms import UniformSample

    expected = UniformSample(clip_len=8, test_mode=True)(dict(total_frames=total, start_index=0))[
        'frame_inds'
    ]
    assert segment_window(total, 8).frame_inds.tolist() == expected.tolist()


@pytest.mark.parametrize('shape', [(8, 16), (16, 8)])  # ThreeCrop: crop = short side
@pytest.mark.mmaction
def test_three_crop_places_views_as_mmaction2(shape):
    from mmaction.datasets.transforms import ThreeCrop

    frames = [np.random.default_rng(i).integers(0, 255, shape + (3,), np.uint8) for i in range(2)]
    crops = ThreeCrop(crop_size=8)(dict(imgs=frames, img_shape=shape))['imgs']
    clip = torch.from_numpy(np.stack(frames)).permute(3, 0, 1, 2)  # (C, T, H, W)
    views = crop_views(clip, (8, 8), 'three')
    for v in range(3):
        expected = np.stack(crops[v * 2 : (v + 1) * 2])  # MMAction2: crop-major frame lists
        assert (views[v].permute(1, 2, 3, 0).numpy() == expected).all()


def test_timm_route_scores_and_features_are_the_models(tmp_path):
    frames, _ = make_clip(MotionSettings(num_frames=12, step=0.03, size=64), 'val', 0)
    write_mp4(tmp_path / 'v.mp4', frames, fps=8)
    torch.manual_seed(0)
    model = from_timm(
        'smallbig_resnet23',
        None,
        crop='three',
        clip_len=4,
        interval=2,
        base_channels=8,
        num_classes=3,
    )
    model.size, model.resize = 32, 40
    video = open_video(str(tmp_path / 'v.mp4'))
    result = infer_video(model, video, stride=4, batch=2, with_features=True)
    assert [(w.start, w.end) for w in result.windows] == [(0, 8), (4, 12)]
    views = model.preprocess(video.frames(result.windows[1].frame_inds))
    assert views.shape == (3, 3, 4, 32, 32)
    with torch.no_grad():
        pre = model.model.forward_head(model.model.forward_features(views), pre_logits=True)
        probs = model.model(views).softmax(1)
    np.testing.assert_allclose(result.features[1], pre.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.clip_scores[1], probs.mean(0).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.video_scores, result.clip_scores.mean(0), rtol=1e-6)


def test_argument_ranges_and_video_reading_fallbacks(tmp_path, monkeypatch):
    frames, _ = make_clip(MotionSettings(num_frames=12, step=0.03, size=32), 'val', 0)
    write_mp4(tmp_path / 'v.mp4', frames, fps=8)
    model = from_timm('smallbig_resnet23', None, clip_len=4, base_channels=8, num_classes=3)
    video = open_video(str(tmp_path / 'v.mp4'))
    for argument, value in (
        ('clip_len', 0),
        ('interval', -1),
        ('stride', 0),
        ('batch', 0),
        ('max_windows', 0),
        ('clip_len', 2.5),
    ):
        with pytest.raises(ValueError, match=f'^{argument} must be an int of at least 1'):
            infer_video(model, video, **{argument: value})
    with pytest.raises(ValueError, match='^clip_len must be at most 256 frames, got 100000'):
        infer_video(model, video, clip_len=100000)
    os.mkfifo(tmp_path / 'pipe.mp4')
    with pytest.raises(VideoReadError, match='is a FIFO'):
        open_video(str(tmp_path / 'pipe.mp4'))
    # decord refuses the file: PyAV reads the same frames before the file is called damaged
    import decord

    def refuse(*args, **kwargs):
        raise RuntimeError('decord cannot open it')

    monkeypatch.setattr(decord, 'VideoReader', refuse)
    fallback = open_video(str(tmp_path / 'v.mp4'))
    assert len(fallback) == len(video) == 12
    np.testing.assert_array_equal(fallback.frames([0, 5, 11]), video.frames([0, 5, 11]))
