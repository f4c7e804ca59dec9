"""Hostile metadata: a hub folder's config.json and a checkpoint's meta are checked before
anything is built from them, and the converter writes nothing no network can be built from.

Each case is one line naming the file (and the key), never a MemoryError or a traceback;
routes: ``smallbig_mm.apis.from_timm``, ``hubconf.py`` (torch.hub), timm's own
``local-dir:``, ``tools/convert_checkpoint.py``, and MMEngine's runner on a config that
inherits only MMAction2's own ``_base_`` files.
"""

import json
import os

import pytest
import timm
import torch

import smallbig_mm  # noqa: F401  (registers the timm models)
from helpers import PYTHON, REPO, assert_one_error, run_main_status, run_tool_status
from smallbig_mm.apis import from_timm
from smallbig_mm.weights import CheckpointError, convert_checkpoint, read_checkpoint
from smallbig_mm.weights.hub import write_hub_folder
from smallbig_mm.weights.validate import ARCHITECTURES, MetadataError

torch.set_num_threads(1)
ARGS = dict(base_channels=8, num_classes=3)


@pytest.fixture(scope='module')
def hub(tmp_path_factory):
    """A good hub folder of a 3-class SmallBig-ResNet-23 (width 8) and its config.json."""
    tmp = tmp_path_factory.mktemp('hub')
    torch.save(timm.create_model('smallbig_resnet23', **ARGS).state_dict(), tmp / 'w.pth')
    write_hub_folder(str(tmp / 'w.pth'), str(tmp / 'good'))
    return tmp / 'good', json.loads((tmp / 'good' / 'config.json').read_text())


def hostile_folder(tmp_path, hub, text):
    """A copy of the good hub folder whose config.json is ``text``."""
    folder = tmp_path / 'hostile'
    folder.mkdir()
    os.link(hub[0] / 'model.safetensors', folder / 'model.safetensors')
    (folder / 'config.json').write_text(text)
    return folder


def edited(config, section, **changes):
    config = json.loads(json.dumps(config))
    (config[section] if section else config).update(changes)
    return json.dumps(config)


HOSTILE = {  # case -> (config.json text from the good one, fragment of the message)
    'num_classes': (
        lambda c: edited(c, 'model_args', num_classes=10**12),
        'model_args: num_classes=1000000000000: must be an int in [0, 1,000,000]',
    ),
    'base_channels': (
        lambda c: edited(c, 'model_args', base_channels=10**9),
        'model_args: base_channels=1000000000',
    ),
    'depth': (lambda c: edited(c, 'model_args', depth=152), 'depth=152: must be 23, 50 or 101'),
    'bool width': (lambda c: edited(c, 'model_args', base_channels=True), 'base_channels=True'),
    'input_size': (
        lambda c: edited(c, 'pretrained_cfg', input_size=[3, 10**6, 10**6]),
        'pretrained_cfg: input_size=[3, 1000000, 1000000]',
    ),
    'std': (lambda c: edited(c, 'pretrained_cfg', std=[0.2, 0.0, 0.2]), 'std=[0.2, 0.0, 0.2]'),
    'NaN mean': (
        lambda c: edited(c, 'pretrained_cfg', mean=[0.5, 0.5, 0.5]).replace(
            '"mean": [0.5, 0.5', '"mean": [NaN, 0.5'
        ),
        'NaN is not JSON',
    ),
    'architecture': (
        lambda c: edited(c, None, architecture='resnet50'),
        "architecture='resnet50': not a SmallBig model",
    ),
    'unknown arg': (
        lambda c: edited(c, 'model_args', conv_layer='Conv2d'),
        "'conv_layer' is not a model argument",
    ),
    'checkpoint_path': (
        lambda c: edited(c, 'model_args', checkpoint_path='/tmp/other.pth'),
        "model_args: 'checkpoint_path' would make timm read weights",
    ),
    'pretrained_cfg url': (
        lambda c: edited(c, 'pretrained_cfg', url='https://a.example/w.pth'),
        "pretrained_cfg: 'url' would make timm read weights",
    ),
    'pretrained_cfg hf_hub_id': (
        lambda c: edited(c, 'pretrained_cfg', hf_hub_id='evil/w'),
        "'hf_hub_id' would make timm read weights",
    ),
    'long string': (
        lambda c: edited(c, 'pretrained_cfg', notes=['x' * (2 << 20)]),
        'bytes; a hub folder config.json is a few KB',
    ),
    'deep': (
        lambda c: edited(c, 'pretrained_cfg', notes=json.loads('[' * 40 + ']' * 40)),
        'nested deeper than 16 levels',
    ),
    'very deep': (
        lambda c: '{"pretrained_cfg": ' + '[' * 100_000 + ']' * 100_000 + '}',
        'nested deeper than 16 levels',
    ),
}


@pytest.mark.parametrize('case', sorted(HOSTILE))
def test_hostile_config_json_is_one_line_naming_the_file(tmp_path, hub, case):
    make, fragment = HOSTILE[case]
    folder = hostile_folder(tmp_path, hub, make(hub[1]))
    with pytest.raises(MetadataError) as info:
        from_timm('smallbig_resnet23', str(folder))
    message = str(info.value)
    assert message.startswith(str(folder / 'config.json')) and '\n' not in message
    assert fragment in message, message
    with pytest.raises(MetadataError, match=fragment.replace('[', r'\[').replace('(', r'\(')):
        torch.hub.load(str(REPO), 'smallbig_resnet23', source='local', weights=str(folder))


@pytest.mark.parametrize(
    'case',
    ['num_classes', 'base_channels', 'input_size', 'checkpoint_path', 'pretrained_cfg url', 'deep'],
)
def test_timm_local_dir_checks_the_config_before_building(tmp_path, hub, case):
    make, fragment = HOSTILE[case]
    folder = hostile_folder(tmp_path, hub, make(hub[1]))
    with pytest.raises(MetadataError) as info:
        timm.create_model(f'local-dir:{folder}', pretrained=True)
    assert str(info.value).startswith(str(folder / 'config.json')) and fragment in str(info.value)


def test_the_good_folder_still_loads_and_the_names_are_timms(hub):
    model = timm.create_model(f'local-dir:{hub[0]}', pretrained=True)
    assert model.num_classes == 3 and from_timm('smallbig_resnet23', str(hub[0])).model
    assert sorted(ARCHITECTURES) == sorted(timm.list_models('smallbig_*'))


# ----------------------------------------------------------------------------- checkpoint meta


def mmaction_checkpoint(path, meta):
    from smallbig_mm.weights.layouts import from_timm_state_dict

    model = timm.create_model('smallbig_resnet23', **ARGS)
    torch.save(
        {'meta': meta, 'state_dict': from_timm_state_dict(model.state_dict(), 'mmaction')}, path
    )


HOSTILE_CFG = (
    "model = dict(type='Recognizer3D', backbone=dict(type='SmallBigResNet', "
    'depth=23, base_channels=1000000000), cls_head=dict(num_classes=3))\n'
)


def test_hostile_meta_is_refused_by_the_reader_and_the_converter(tmp_path):
    cases = {
        'string meta': ('not a dict', 'meta is a str, not a dict'),
        'negative epoch': ({'epoch': -5}, 'meta: epoch=-5'),
        'deep meta': ({'hook_msgs': json.loads('[' * 40 + ']' * 40)}, 'nested deeper'),
    }
    for name, (meta, fragment) in cases.items():
        path = tmp_path / f'{name.replace(" ", "_")}.pth'
        mmaction_checkpoint(path, meta)
        with pytest.raises(MetadataError, match=fragment):
            read_checkpoint(path)
    result = run_main_status(
        'smallbig-convert', [tmp_path / 'deep_meta.pth', tmp_path / 'out.pth', '--to', 'timm']
    )
    assert_one_error(result, 1, 'deep_meta.pth: meta: nested deeper than 16 levels')
    assert not (tmp_path / 'out.pth').exists()

    # a config text in meta that would build a network of 10**9 channels
    mmaction_checkpoint(tmp_path / 'epoch_1.pth', {'cfg': HOSTILE_CFG, 'epoch': 1})
    result = run_main_status(
        'smallbig-convert', [tmp_path / 'epoch_1.pth', tmp_path / 'hub', '--to', 'hf']
    )
    assert_one_error(result, 1, 'epoch_1.pth: model_args: base_channels=1000000000')
    assert not (tmp_path / 'hub').exists()


@pytest.mark.mmaction
def test_mmengine_runner_refuses_hostile_meta_in_one_line(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    (tmp_path / 'cfg.py').write_text(
        "_base_ = ['mmaction::_base_/models/i3d_r50.py', 'mmaction::_base_/default_runtime.py']\n"
        "model = dict(backbone=dict(_delete_=True, type='SmallBigResNet', depth=23, "
        'base_channels=8), cls_head=dict(num_classes=3, in_channels=256))\n'
    )
    mmaction_checkpoint(tmp_path / 'epoch_2.pth', {'epoch': 2, 'iter': 'many'})
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
    cfg.merge_from_dict(
        dict(work_dir=str(tmp_path / 'work'), load_from=str(tmp_path / 'epoch_2.pth'))
    )
    with pytest.raises(MetadataError) as info:
        Runner.from_cfg(cfg).load_or_resume()
    assert str(info.value) == (
        f"{tmp_path / 'epoch_2.pth'}: meta: iter='many': must be an int in [0, 10**12]"
    )


# ----------------------------------------------------------------------------- the converter


def test_the_converter_refuses_weights_no_network_can_be_built_from(tmp_path):
    state = timm.create_model('smallbig_resnet23', **ARGS).state_dict()
    bad_conv = dict(state, **{'layer2.0.conv2.weight': torch.zeros(16, 16, 1, 5, 5)})
    bad_fc = dict(state, **{'fc.weight': torch.zeros(3, 100)})
    for name, weights, fragment in (
        ('conv.pth', bad_conv, 'do not rebuild the network of the weights'),
        (
            'fc.pth',
            bad_fc,
            "its classifier {'fc.weight': (3, 100), 'fc.bias': (3,)} "
            "does not fit the network's 256 features",
        ),
    ):
        torch.save(weights, tmp_path / name)
        with pytest.raises(
            CheckpointError,
            match=fragment.replace('(', r'\(')
            .replace(')', r'\)')
            .replace('{', r'\{')
            .replace('}', r'\}'),
        ):
            convert_checkpoint(str(tmp_path / name), str(tmp_path / 'out.pth'), to='mmaction')
        assert not (tmp_path / 'out.pth').exists()
    result = run_main_status(
        'smallbig-convert', [tmp_path / 'conv.pth', tmp_path / 'out.safetensors', '--to', 'timm']
    )
    assert_one_error(result, 1, 'conv.pth: the model_args', 'do not rebuild')
    assert not (tmp_path / 'out.safetensors').exists()


def test_timm_hf_hub_checks_the_cached_config_before_building(tmp_path, hub):
    import shutil

    commit = 'b' * 40
    snapshot = tmp_path / 'hf' / 'hub' / 'models--someorg--evil' / 'snapshots' / commit
    shutil.copytree(hub[0], snapshot)
    (snapshot.parents[1] / 'refs').mkdir()
    (snapshot.parents[1] / 'refs' / 'main').write_text(commit)
    (snapshot / 'config.json').write_text(edited(hub[1], 'model_args', base_channels=10**9))
    script = "import timm, smallbig_mm\ntimm.create_model('hf-hub:someorg/evil', pretrained=True)\n"
    result = run_tool_status(
        [PYTHON, '-c', script], cwd=REPO, HF_HOME=str(tmp_path / 'hf'), HF_HUB_OFFLINE='1'
    )
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and last.startswith('smallbig_mm.weights.validate.MetadataError')
    assert f'{snapshot / "config.json"}: model_args: base_channels=1000000000' in last
