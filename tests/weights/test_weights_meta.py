"""The weights record: validation, derivation from configs, and the converter carrying it."""

import json
import logging
import os
from pathlib import Path

import pytest
import torch

from smallbig_mm.cli.convert import config_meta
from smallbig_mm.weights import convert_checkpoint
from smallbig_mm.weights.io import read_checkpoint
from smallbig_mm.weights.meta import (
    WEIGHTS_META_KEY,
    InputSpec,
    WeightsMeta,
    WeightsMetaError,
    report_overrides,
    timm_pretrained_cfg,
    with_overrides,
)
from smallbig_mm.weights.meta_config import classes_from_annotations
from smallbig_mm.weights.meta_files import checkpoint_meta

REPO = Path(__file__).resolve().parents[2]
MOTION = REPO / 'configs/recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py'
K400 = REPO / (
    'configs/recognition/smallbig/'
    'smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py'
)
STHV1 = (
    REPO / 'configs/recognition/smallbig/smallbig_imagenet-pretrained-r50_8xb8-u8-100e_sthv1-rgb.py'
)


def record(**input_values) -> WeightsMeta:
    return WeightsMeta(
        InputSpec(
            mean=(114.0,) * 3,
            std=(57.0,) * 3,
            test_crop=(48, 48),
            resize_short_side=64,
            **input_values,
        ),
        ('a', 'b', 'c'),
    )


def test_round_trip_and_json():
    meta = record(num_frames=4, frame_interval=2)
    assert WeightsMeta.from_dict(meta.to_dict()) == meta
    assert WeightsMeta.from_json(meta.to_json()) == meta
    assert json.loads(meta.to_json())['input']['test_crop'] == [48, 48]


@pytest.mark.parametrize(
    'change, message',
    [
        ({'input': {'num_frames': 0}}, 'num_frames must be an integer in [1'),
        ({'input': {'num_frames': True}}, 'num_frames must be an integer'),
        ({'input': {'std': [1, 0, 1]}}, 'std must be 1 or 3 finite numbers > 0'),
        ({'input': {'mean': [float('nan')] * 3}}, 'mean must be 1 or 3 finite numbers'),
        ({'input': {'value_range': 100}}, 'value_range must be 1 or 255'),
        ({'input': {'sampling': 'random'}}, 'sampling must be one of'),
        ({'input': {'channel_order': 'GBR'}}, 'channel_order must be RGB or BGR'),
        ({'input': {'test_crop': [48]}}, 'test_crop must be [height, width]'),
        ({'input': {'crop': 3}}, 'unknown key(s) in input: crop'),
        ({'classes': 'abc'}, 'classes must be a list'),
        ({'provenance': {'config': '/home/me/cfg.py'}}, 'not a local path'),
        ({'provenance': {'date': 5}}, 'provenance.date must be one line of text'),
        ({'extra': 1}, 'unknown key(s) in the record: extra'),
    ],
)
def test_validation_names_the_file_and_the_field(change, message):
    data = record().to_dict()
    for key, value in change.items():
        data[key] = (
            dict(data[key], **value)
            if isinstance(value, dict) and isinstance(data.get(key), dict)
            else value
        )
    with pytest.raises(WeightsMetaError) as err:
        WeightsMeta.from_dict(data, 'hub/config.json')
    assert str(err.value).startswith('hub/config.json: ') and message in str(err.value)
    with pytest.raises(WeightsMetaError, match='the record must be a mapping'):
        WeightsMeta.from_dict([1], 'x')


def test_timm_fields_and_overrides():
    cfg = timm_pretrained_cfg(record(), num_classes=3)
    assert cfg['input_size'] == [3, 48, 48] and cfg['crop_pct'] == 0.75
    assert cfg['mean'] == [round(114 / 255, 6)] * 3 and cfg['num_classes'] == 3
    changed = with_overrides(record(), {'std': [0.5, 0.5, 0.5], 'num_frames': 16})
    assert changed.input.std == (127.5,) * 3 and changed.input.value_range == 255
    assert changed.input.mean == (114.0,) * 3 and changed.input.num_frames == 16
    with pytest.raises(WeightsMetaError, match='num_frames'):
        with_overrides(record(), {'num_frames': -1})


def test_overrides_are_kept_and_reported_in_one_line(caplog):
    with caplog.at_level(logging.WARNING):
        chosen = report_overrides(
            'w.pth',
            {'size': (224, 48), 'frames': (4, 4), 'crop': (None, 'three')},
            logging.getLogger('t'),
        )
    assert chosen == {'size': 224, 'frames': 4, 'crop': 'three'}
    assert len(caplog.records) == 1 and 'size 224 (recorded: 48)' in caplog.text
    assert 'frames' not in caplog.text


def test_classes_come_only_from_consistent_class_folders():
    assert classes_from_annotations([('b/1.mp4', 1), ('a/2.mp4', 0)]) == ['a', 'b']
    assert classes_from_annotations([('a/1.mp4', 0), ('b/2.mp4', 0)]) is None  # 2 folders
    assert classes_from_annotations([('a/1.mp4', 0), ('a/2.mp4', 1)]) is None  # shared
    assert classes_from_annotations([('a/1.mp4', 0), ('c/2.mp4', 2)]) is None  # gap
    assert classes_from_annotations([]) is None


@pytest.mark.mmaction
def test_project_configs_give_their_records():
    k400 = config_meta(str(K400))
    assert (k400.input.num_frames, k400.input.frame_interval, k400.input.sampling) == (
        8,
        8,
        'dense',
    )
    assert k400.input.mean == (123.675, 116.28, 103.53) and k400.input.test_crop == (256, 256)
    assert (k400.input.test_clips, k400.input.test_crops) == (10, 3)  # the paper's 30 views
    assert k400.input.resize_short_side == 256 and k400.input.train_crop == (224, 224)
    assert k400.provenance.dataset == 'kinetics400' and k400.provenance.config == K400.name
    assert k400.provenance.max_epochs == 100
    sth = config_meta(str(STHV1))
    assert sth.input.sampling == 'uniform' and sth.input.num_frames == 8
    motion = config_meta(str(MOTION))
    assert motion.provenance.dataset == 'motion'
    assert not any(os.sep + 'work' in str(v) for v in motion.to_dict()['provenance'].values())


@pytest.mark.mmaction
def test_an_mmaction_base_config_gives_its_record(tmp_path):
    config = tmp_path / 'base_only.py'
    config.write_text(
        "_base_ = ['mmaction::_base_/models/tsn_r50.py']\n"
        'model = dict(data_preprocessor=dict(to_rgb=True))\n'
        "test_pipeline = [dict(type='SampleFrames', clip_len=1, frame_interval=1,"
        " num_clips=25, test_mode=True), dict(type='Resize', scale=(-1, 256)),"
        " dict(type='TenCrop', crop_size=224)]\n"
    )
    meta = config_meta(str(config))
    assert meta.input.channel_order == 'BGR' and (meta.input.test_clips, meta.input.test_crops) == (
        25,
        10,
    )
    assert meta.input.mean == (123.675, 116.28, 103.53)


def test_a_checkpoint_without_a_record_gets_one_from_its_config_text():
    cfg = (
        'model = dict(data_preprocessor=dict(mean=[1, 2, 3], std=[4, 5, 6]))\n'
        "val_pipeline = [dict(type='SampleFrames', clip_len=5, frame_interval=3)]\n"
    )
    ckpt = type(
        'C',
        (),
        {
            'path': 'old.pth',
            'extras': {
                'meta': {
                    'cfg': cfg,
                    'epoch': 7,
                    'time': '20261204_101010',
                    'dataset_meta': {'classes': ['x', 'y']},
                }
            },
        },
    )()
    meta = checkpoint_meta(ckpt)
    assert meta.input.mean == (1.0, 2.0, 3.0) and meta.input.num_frames == 5
    assert meta.classes == ('x', 'y') and meta.provenance.epochs == 7
    assert meta.provenance.date == '2026-12-04T10:10:10'


@pytest.mark.parametrize(
    'to, suffix',
    [('timm', '.pth'), ('timm', '.safetensors'), ('mmaction', '.pth'), ('reference', '.pth')],
)
def test_the_converter_carries_the_record(tmp_path, to, suffix):
    from smallbig_mm.models import SmallBigResNet
    from smallbig_mm.weights.layouts import from_timm_state_dict

    meta = record()
    state = from_timm_state_dict(SmallBigResNet(depth=23, base_channels=8).state_dict(), 'mmaction')
    torch.save(
        {'meta': {WEIGHTS_META_KEY: meta.to_dict()}, 'state_dict': state}, tmp_path / 'src.pth'
    )
    out = tmp_path / f'out{suffix}'
    convert_checkpoint(str(tmp_path / 'src.pth'), str(out), to)
    assert checkpoint_meta(read_checkpoint(str(out))) == meta
    again = tmp_path / f'again{suffix}'
    convert_checkpoint(
        str(out),
        str(again),
        'mmaction_backbone',
        input_values={'num_frames': 2},
        classes=['p', 'q', 'r'],
    )
    changed = checkpoint_meta(read_checkpoint(str(again)))
    assert changed.input.num_frames == 2 and changed.classes == ('p', 'q', 'r')


@pytest.mark.mmaction
def test_the_runner_records_the_meaning_with_the_project_config(tmp_path, motion_data):
    """``Runner.save_checkpoint`` writes the record under the project's own config, too,
    with the class names of a label map named in the train dataset's ``metainfo``."""
    from mmengine.runner import Runner

    from helpers import tiny_config

    runner = Runner.from_cfg(
        tiny_config(  # a label map named as MMEngine reads one
            motion_data,
            tmp_path,
            **{'train_dataloader.dataset.metainfo': dict(classes=str(motion_data.label_map))},
        )
    )
    runner.save_checkpoint(
        str(tmp_path), 'manual.pth', save_optimizer=False, save_param_scheduler=False
    )
    meta = checkpoint_meta(read_checkpoint(str(tmp_path / 'manual.pth')))
    assert meta.input.mean == (128.0,) * 3 and meta.input.test_crops == 3
    assert meta.input.test_crop == (32, 24) and meta.provenance.epochs == 1
    assert meta.provenance.config == 'tiny_smallbig_motion.py'
    assert meta.classes == ('smooth', 'shuffled')


@pytest.mark.mmaction
def test_the_runner_wrapper_is_installed_once():
    from mmengine.runner import Runner

    from smallbig_mm.mmaction import checkpoint_meta

    wrapper = Runner.save_checkpoint
    assert checkpoint_meta.is_applied() and checkpoint_meta.apply() is False
    assert Runner.save_checkpoint is wrapper
    assert not getattr(Runner.save_checkpoint.__wrapped__, '__smallbig_patch__', False)
