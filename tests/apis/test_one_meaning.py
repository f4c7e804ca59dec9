"""One set of weights, trained with non-default preprocessing, gives the same video scores
through every front end: the config (MMAction2 recognizer), a hub folder through
``from_timm``, ``hubconf.py``, the ONNX file, and timm's own ``local-dir:``.

The weights are trained for one step by MMEngine's ``Runner`` on a config that inherits
only MMAction2's ``_base_`` files (``mmaction::`` scope) with ``SmallBigResNet`` swapped
in and none of this project's hooks: 48 px crops of a 64 px short side, mean 114 / std 57,
4 frames 2 apart, 3 classes named by their annotation folders.
"""

import importlib.util
import json
import logging
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from smallbig_mm.apis import from_config, from_timm, infer_video, open_video
from smallbig_mm.apis.models import TimmVideoClassifier, crop_views
from smallbig_mm.apis.windows import plan_windows
from smallbig_mm.weights.hub import write_hub_folder
from smallbig_mm.weights.io import read_checkpoint
from smallbig_mm.weights.meta import WEIGHTS_META_KEY, WeightsMeta, is_local_path

pytestmark = pytest.mark.mmaction  # runs MMAction2 configs or tools

REPO = Path(__file__).resolve().parents[2]
CLASSES = ['run', 'walk', 'jump']
CONFIG = """
_base_ = ['mmaction::_base_/models/i3d_r50.py', 'mmaction::_base_/default_runtime.py']
custom_imports = dict(imports=['smallbig_mm.mmaction'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='SmallBigResNet', depth=23, base_channels=8),
    cls_head=dict(in_channels=256, num_classes=3, dropout_ratio=0.),
    data_preprocessor=dict(mean=[114., 114., 114.], std=[57., 57., 57.]))
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, frame_interval=2,
                                  num_clips=1),
    dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 64)),
    dict(type='RandomCrop', size=48), dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
test_pipeline = [
    dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, frame_interval=2,
                                  num_clips=1, test_mode=True),
    dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=48),
    dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
train_dataloader = dict(
    batch_size=3, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file='DATA/train.txt',
                 data_prefix=dict(video='DATA'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file='DATA/train.txt',
                 data_prefix=dict(video='DATA'), pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
"""


def write_video(path: Path, seed: int, frames: int = 16, size=(64, 80)) -> None:
    """An .avi of random-walk blobs; the short side (64) is the config's resize, so every
    front end crops the same pixels."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 8, size[::-1])
    image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    for _ in range(frames):
        image = np.roll(image, 3, axis=1)
        writer.write(image)
    writer.release()


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(config path, checkpoint, data folder, a test video) after one training step."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    root = tmp_path_factory.mktemp('meaning')
    data = root / 'data'
    lines = []
    for label, name in enumerate(CLASSES):
        (data / name).mkdir(parents=True)
        write_video(data / name / f'{name}0.avi', label)
        lines.append(f'{name}/{name}0.avi {label}')
    (data / 'train.txt').write_text('\n'.join(lines) + '\n')
    config = root / 'tiny_mmaction_base_48px_threeclass-rgb.py'
    config.write_text(CONFIG.replace('DATA', str(data)))
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(root / 'work')
    torch.manual_seed(0)
    Runner.from_cfg(cfg).train()
    return config, root / 'work' / 'epoch_1.pth', data, data / 'walk' / 'walk0.avi'


def test_training_checkpoint_records_the_meaning_of_any_config(trained):
    config, ckpt, _, _ = trained
    meta = read_checkpoint(str(ckpt)).extras['meta'][WEIGHTS_META_KEY]
    record = WeightsMeta.from_dict(meta)
    spec = record.input
    assert spec.mean == (114.0,) * 3 and spec.std == (57.0,) * 3 and spec.value_range == 255
    assert (spec.num_frames, spec.frame_interval, spec.sampling) == (4, 2, 'dense')
    assert spec.test_crop == (48, 48) and spec.train_crop == (48, 48)
    assert spec.resize_short_side == 64 and (spec.test_clips, spec.test_crops) == (1, 1)
    assert list(record.classes) == CLASSES  # from the annotation list's class folders
    prov = record.provenance
    assert prov.config == config.name and prov.epochs == 1 and prov.max_epochs == 1
    assert prov.dataset == 'threeclass' and prov.package_version and prov.date
    assert not any(is_local_path(str(v)) for v in json.dumps(meta).split('"'))


def _onnx_scores(path: str, video_path: Path) -> np.ndarray:
    """Video scores from the ONNX file, preprocessed only as its metadata says."""
    import onnx
    import onnxruntime as ort

    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    spec = WeightsMeta.from_json(props[WEIGHTS_META_KEY]).input
    video = open_video(str(video_path))
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    mean = torch.tensor(spec.mean).view(3, 1, 1, 1) / spec.value_range
    std = torch.tensor(spec.std).view(3, 1, 1, 1) / spec.value_range
    scores = []
    for window in plan_windows(video.num_frames, spec.num_frames, spec.frame_interval):
        clip = torch.from_numpy(video.frames(window.frame_inds)).permute(3, 0, 1, 2).float()
        clip = (clip / 255 - mean) / std  # frames are already at the recorded short side
        views = crop_views(clip, spec.test_crop, 'center').numpy()
        logits = torch.from_numpy(session.run(None, {'clips': views})[0])
        scores.append(logits.softmax(1).mean(0))
    return torch.stack(scores).mean(0).numpy()


@pytest.mark.skipif(importlib.util.find_spec('onnxruntime') is None, reason='needs onnxruntime')
def test_one_set_of_weights_gives_the_same_scores_through_every_front_end(
    trained, tmp_path, caplog
):
    import timm

    from smallbig_mm.cli import export

    config, ckpt, _, video_path = trained
    config_model = from_config(str(config), str(ckpt))
    expected = infer_video(config_model, open_video(str(video_path))).video_scores
    assert config_model.classes == CLASSES

    hub = tmp_path / 'tiny_hub'
    write_hub_folder(str(ckpt), str(hub))
    hub_model = from_timm('smallbig_resnet23', str(hub))
    assert (hub_model.size, hub_model.clip_len, hub_model.interval) == (48, 4, 2)
    assert hub_model.classes == CLASSES
    np.testing.assert_allclose(
        infer_video(hub_model, open_video(str(video_path))).video_scores, expected, atol=1e-4
    )
    larger = str(REPO / 'tests/assets/test.avi')  # 320 x 240: both resize as MMAction2 does
    np.testing.assert_allclose(
        infer_video(hub_model, open_video(larger)).video_scores,
        infer_video(config_model, open_video(larger)).video_scores,
        atol=1e-4,
    )

    hubconf = torch.hub.load(str(REPO), 'smallbig_resnet23', source='local', weights=str(hub))
    cfg = hubconf.pretrained_cfg
    assert cfg['input_size'] == [3, 48, 48] and cfg['label_names'] == CLASSES
    assert cfg['num_classes'] == 3  # the model's, as local-dir: gives it (not the default 400)
    np.testing.assert_allclose(cfg['mean'], [114 / 255] * 3, atol=1e-6)
    np.testing.assert_allclose(
        infer_video(TimmVideoClassifier(hubconf), open_video(str(video_path))).video_scores,
        expected,
        atol=1e-4,
    )

    local = timm.create_model(f'local-dir:{hub}', pretrained=True)
    data_cfg = timm.data.resolve_data_config({}, model=local)
    assert data_cfg['input_size'] == (3, 48, 48) and data_cfg['crop_pct'] == 0.75
    np.testing.assert_allclose(data_cfg['std'], [57 / 255] * 3, atol=1e-6)
    assert local.num_frames == 4 and list(local.pretrained_cfg['label_names']) == CLASSES
    np.testing.assert_allclose(
        infer_video(
            TimmVideoClassifier(local, clip_len=4, interval=2), open_video(str(video_path))
        ).video_scores,
        expected,
        atol=1e-4,
    )

    onnx_path = tmp_path / 'tiny.onnx'
    export.main(['smallbig_resnet23', '--checkpoint', str(hub), '--out', str(onnx_path)])
    np.testing.assert_allclose(_onnx_scores(str(onnx_path), video_path), expected, atol=1e-4)


def test_an_explicit_setting_that_differs_is_kept_and_reported_once(trained, tmp_path, caplog):
    _, ckpt, _, _ = trained
    hub = tmp_path / 'hub'
    write_hub_folder(str(ckpt), str(hub))
    with caplog.at_level(logging.WARNING):
        model = from_timm('smallbig_resnet23', str(hub), clip_len=6, interval=2, crop='three')
    assert (model.clip_len, model.interval, model.crop) == (6, 2, 'three')
    lines = [r.getMessage() for r in caplog.records if 'kept as given' in r.getMessage()]
    assert (
        len(lines) == 1
        and 'clip_len 6 (recorded: 4)' in lines[0]
        and 'crop three (recorded: center)' in lines[0]
        and 'interval' not in lines[0]
    )

    from smallbig_mm.timm_models.build import create_with_weights

    finetune = create_with_weights('smallbig_resnet23', str(hub), num_classes=5)
    assert finetune.weights_meta.classes is None and finetune.weights_meta.input.num_frames == 4
    assert not finetune.pretrained_cfg.get('label_names')  # not the 3 names of the weights


def test_the_demo_names_the_classes_from_the_checkpoint(trained, capsys):
    from smallbig_mm.cli import demo

    config, ckpt, _, video_path = trained
    lines = []
    demo.run(
        demo.parse_args(
            [
                str(config),
                str(video_path),
                '--checkpoint',
                str(ckpt),
                '--topk',
                '3',
                '--no-progress',
                '--device',
                'cpu',
            ]
        ),
        echo=lines.append,
    )
    assert sorted(re.split(r'\s+', line.strip())[1] for line in lines[1:]) == sorted(CLASSES)


def test_hub_folder_holds_no_local_path_and_its_card_parses(trained, tmp_path):
    from huggingface_hub import ModelCard

    _, ckpt, data, _ = trained
    hub = tmp_path / 'card_hub'
    write_hub_folder(str(ckpt), str(hub), license_id='apache-2.0', base_model='org/base')
    for name in os.listdir(hub):
        blob = (hub / name).read_bytes()
        for folder in {str(tmp_path), str(data), str(ckpt.parent), os.path.expanduser('~')}:
            assert folder.encode() not in blob, (name, folder)
    card = ModelCard.load(hub / 'README.md')
    data_ = card.data.to_dict()
    assert data_['library_name'] == 'timm' and data_['license'] == 'apache-2.0'
    assert data_['datasets'] == ['threeclass'] and data_['base_model'] == 'org/base'
    assert data_['metrics'] == ['accuracy'] and data_['label_names'] == CLASSES
    assert 'pipeline_tag' not in data_ and 'smallbignet' in data_['tags']


CHILD_CONFIG = """
_base_ = ['./tiny_mmaction_base_48px_threeclass-rgb.py']
# MMAction2's usual split: validation on another view than the test protocol
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='DecordInit'), dict(type='SampleFrames', clip_len=4, frame_interval=2,
                                  num_clips=1, test_mode=True),
    dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 56)),
    dict(type='CenterCrop', crop_size=48),
    dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]))
# a variable only: test_dataloader was filled from the base's, which the runner runs
test_pipeline = [
    dict(type='DecordInit'), dict(type='SampleFrames', clip_len=2, frame_interval=1,
                                  num_clips=1, test_mode=True),
    dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 80)),
    dict(type='CenterCrop', crop_size=48),
    dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
"""


def test_config_front_end_defaults_to_the_recorded_test_pipeline_the_runner_runs(trained, tmp_path):
    """A config whose val pipeline differs from its test pipeline, and whose
    ``test_pipeline`` variable differs from the test dataloader's (a child redefining
    only the variable): the config front end's default and its record follow the test
    dataloader, as the runner and the hub folder do."""
    from mmengine.config import Config

    from smallbig_mm.weights.meta_config import input_from_config

    config, ckpt, _, video_path = trained
    child = config.parent / 'tiny_child_val56_threeclass-rgb.py'
    child.write_text(CHILD_CONFIG)
    spec = input_from_config(Config.fromfile(str(child)).to_dict())
    assert (spec.resize_short_side, spec.num_frames, spec.frame_interval) == (64, 4, 2)

    config_model = from_config(str(child), str(ckpt))
    assert (config_model.clip_len, config_model.interval) == (4, 2)
    assert config_model.weights_meta.input.resize_short_side == 64
    hub = tmp_path / 'hub'
    write_hub_folder(str(ckpt), str(hub))
    video = open_video(str(REPO / 'tests/assets/test.avi'))
    expected = infer_video(from_timm('smallbig_resnet23', str(hub)), video).video_scores
    np.testing.assert_allclose(infer_video(config_model, video).video_scores, expected, atol=1e-4)
    val_model = from_config(str(child), str(ckpt), pipeline='val')
    assert np.abs(infer_video(val_model, video).video_scores - expected).max() > 1e-4
