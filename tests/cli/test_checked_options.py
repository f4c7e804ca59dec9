"""Checked --cfg-options and configs that fail to evaluate (issue 19): one line, exit 2
for a key the config does not have (naming the closest key) or a value of the wrong type,
exit 1 naming file and line for a config whose code fails. Through tools/train.py."""

import pytest

from helpers import PYTHON, REPO, TINY_CONFIG, assert_one_error, run_tool_status
from smallbig_mm.mmaction.cfg_options import check_cfg_options
from smallbig_mm.utils.errors import UsageError

pytestmark = pytest.mark.mmaction  # runs MMAction2 configs or tools

TRAIN = str(REPO / 'tools' / 'train.py')


@pytest.mark.parametrize(
    'option,fragments',
    [
        (
            'train_cfgg.max_epochs=1',
            ('no key train_cfgg', 'did you mean train_cfg.max_epochs?', '+train_cfgg.max_epochs=1'),
        ),
        ('train_cfg.max_epoch=1', ('no key train_cfg.max_epoch', 'train_cfg.max_epochs?')),
        ('optim_wrapper.optimizer.lrr=0.1', ('optim_wrapper.optimizer.lr?',)),
        ('train_dataloader.batch_size=abc', ('train_dataloader.batch_size: expected an int',)),
    ],
)
def test_unknown_keys_and_wrong_types_are_usage_errors(tmp_path, option, fragments):
    result = run_tool_status(
        [
            PYTHON,
            TRAIN,
            str(TINY_CONFIG),
            '--work-dir',
            str(tmp_path / 'w'),
            '--cfg-options',
            option,
        ],
        tmp_path,
    )
    assert_one_error(result, 2, *fragments)
    assert not (tmp_path / 'w').exists()


def test_adding_a_key_needs_the_plus_and_lists_are_checked():
    from mmengine.config import Config

    cfg = Config.fromfile(TINY_CONFIG)
    assert check_cfg_options(
        cfg, {'+custom_note': 'x', 'param_scheduler': [], 'model.backbone.depth': 23}
    ) == {'custom_note': 'x', 'param_scheduler': [], 'model.backbone.depth': 23}
    with pytest.raises(ValueError, match='list of 4 item'):
        check_cfg_options(Config(dict(a=[1, 2, 3, 4])), {'a.7': 1})
    with pytest.raises(ValueError, match='expected a section'):
        check_cfg_options(cfg, {'model.backbone': 'SmallBigResNet'})


def test_a_config_that_fails_to_evaluate_names_file_and_line(tmp_path):
    broken = tmp_path / 'broken.py'
    broken.write_text(f"_base_ = ['{TINY_CONFIG}']\nx = 1\nmodel = dict(depth=undefined_name)\n")
    assert_one_error(
        run_tool_status([PYTHON, TRAIN, str(broken)], tmp_path),
        1,
        f'{broken}, line 3: the config fails to evaluate',
        'NameError',
    )


@pytest.mark.parametrize(
    'tool, argv, message',
    [
        ('benchmark', ['smallbig_resnet23', '--batch', '0'], '--batch: must be an int in 1..4096'),
        (
            'benchmark',
            ['smallbig_resnet23', '--size', '100000'],
            '--size: must be an int in 32..2048',
        ),
        ('test', ['c.py', 'k.pth', '--interval', '0'], '--interval: must be an int of at least 1'),
        (
            'test',
            ['c.py', 'k.pth', '--wait-time', 'nan'],
            '--wait-time: must be a number in 0..inf',
        ),
        ('export', ['m', '--out', 'a.onnx', '--num-classes', '0'], '--num-classes: must be an int'),
        (
            'export',
            ['m', '--out', 'a.onnx', '--opset', '99'],
            'the installed onnx knows opsets up to',
        ),
        (
            'extract_features',
            ['c.py', 'k.pth', 'v.mp4', '--out', 'o', '--clip-len', '100000'],
            '--clip-len: must be an int in 1..256',
        ),
        ('demo', ['c.py', 'v.mp4', '--clip-len', '257'], '--clip-len: must be an int'),
    ],
)
def test_numeric_flags_are_checked_when_parsed(tool, argv, message, capsys):
    import importlib

    module = importlib.import_module(f'smallbig_mm.cli.{tool}')
    with pytest.raises(SystemExit) as done:
        module.parse_args(argv)
    assert done.value.code == 2 and message in capsys.readouterr().err


def test_the_extractor_the_demo_and_the_api_check_overrides_the_same_way(tmp_path, capsys):
    """One code path (``merge_cfg_options``) for every front end; in-process, before any
    model is built or video read: an unknown key, a wrong type, ``+key`` to add one."""
    from smallbig_mm.apis import from_config
    from smallbig_mm.cli import demo, extract_features
    from smallbig_mm.utils.errors import UsageError

    demo_config = (
        REPO / 'configs/recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py'
    )
    typo = 'model.backbone.base_channel=4'
    expected = (
        f'error: --cfg-options {typo}: the config has no key model.backbone.base_channel (did '
        f'you mean model.backbone.base_channels?); to add a new key on purpose, write +{typo}'
    )
    video = REPO / 'demo' / 'demo.mp4'
    for main, argv in (
        (demo.main, [str(demo_config), str(video)]),
        (
            extract_features.main,
            [str(TINY_CONFIG), 'unused.pth', str(video), '--out', str(tmp_path / 'f')],
        ),
    ):
        with pytest.raises(SystemExit) as done:
            main([*argv, '--cfg-options', typo])
        assert done.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == expected
    with pytest.raises(SystemExit) as done:
        extract_features.main(
            [
                str(TINY_CONFIG),
                'unused.pth',
                str(video),
                '--out',
                str(tmp_path / 'f'),
                '--cfg-options',
                'model.cls_head.dropout_ratio=abc',
            ]
        )
    assert done.value.code == 2 and capsys.readouterr().err.strip().endswith(
        'model.cls_head.dropout_ratio: expected a number (the config has 0.0), got a string'
    )
    assert not (tmp_path / 'f').exists()
    with pytest.raises(UsageError, match='did you mean model.backbone.base_channels'):
        from_config(str(TINY_CONFIG), cfg_options={'model.backbone.base_channel': 4})
    with pytest.warns(UserWarning, match='random weights'):  # '+' adds a key on purpose
        model = from_config(str(TINY_CONFIG), cfg_options={'+run_note': 'x'})
    assert model.cfg.run_note == 'x'


def test_a_variable_copied_into_the_runner_sections_is_refused_naming_the_copy(tmp_path):
    """``train_pipeline.1.clip_len=0`` used to train on, unchanged: the variable was copied
    into ``train_dataloader.dataset.pipeline`` when the file was read. A config inheriting
    only MMAction2's bases, read from a file as the tools read it."""
    from mmengine.config import Config

    config = tmp_path / 'mmaction_bases_variables.py'
    config.write_text(
        "_base_ = ['mmaction::_base_/default_runtime.py']\n"
        "data_root = 'data/kinetics400/videos_val'\n"
        "ann_file_val = 'data/kinetics400/val.txt'\n"
        "val_pipeline = [dict(type='SampleFrames', clip_len=8), dict(type='CenterCrop', crop_size=224)]\n"
        "val_dataloader = dict(dataset=dict(type='VideoDataset', ann_file=ann_file_val,\n"
        '    data_prefix=dict(video=data_root), pipeline=val_pipeline))\n'
        'test_dataloader = val_dataloader\n'
        'clip_len = 8\n'
    )
    cfg = Config.fromfile(str(config))
    with pytest.raises(UsageError) as error:
        check_cfg_options(cfg, {'val_pipeline.0.clip_len': 4})
    assert 'val_pipeline is a variable of the config file' in str(error.value)
    assert 'write val_dataloader.dataset.pipeline.0.clip_len=4' in str(error.value)
    with pytest.raises(UsageError, match='write val_dataloader.dataset.data_prefix.video=x'):
        check_cfg_options(cfg, {'data_root': 'x'})
    # the copies themselves, an int that only equals one by chance, and an added key pass
    assert check_cfg_options(
        cfg,
        {'val_dataloader.dataset.pipeline.0.clip_len': 4, 'clip_len': 4, '+val_pipeline.0.x': 1},
    ) == {'val_dataloader.dataset.pipeline.0.clip_len': 4, 'clip_len': 4, 'val_pipeline.0.x': 1}
    assert_one_error(
        run_tool_status(
            [
                PYTHON,
                TRAIN,
                str(TINY_CONFIG),
                '--work-dir',
                str(tmp_path / 'w'),
                '--cfg-options',
                'train_pipeline.1.clip_len=0',
            ],
            tmp_path,
        ),
        2,
        'train_pipeline is a variable',
    )


def test_a_missing_package_scope_base_is_one_line(tmp_path):
    """``_base_ = ['mmaction::_base_/models/nope.py']`` (or ``smallbig_mm::``): MMEngine's
    FileNotFoundError has no filename, so every tool printed a 50-line traceback."""
    from smallbig_mm.cli.errors import user_error_message
    from smallbig_mm.mmaction.config_scope import read_config

    config = tmp_path / 'typo_in_base.py'
    config.write_text("_base_ = ['mmaction::_base_/models/i3d_r5O.py']\n")
    with pytest.raises(FileNotFoundError) as error:
        read_config(str(config))
    message = user_error_message(error.value)
    assert message is not None and 'i3d_r5O.py: No such file or directory' in message
    assert f'a _base_ of {config}' in message
