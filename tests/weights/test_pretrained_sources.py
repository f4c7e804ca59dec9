"""Pretrained sources (torch hub and Hugging Face caches), hub folders, hubconf; all offline.

Downloads go to an HTTP server on 127.0.0.1 that the test starts; the Hugging Face cache
is laid out by hand and read with HF_HUB_OFFLINE=1.
"""

import hashlib
import json
import logging
import os
import shutil

import pytest
import timm
import torch

import smallbig_mm  # noqa: F401  (registers the timm models)
from helpers import PYTHON, REPO, run_main_status, run_tool, tiny
from smallbig_mm.weights import CheckpointError, load_weights, sources
from smallbig_mm.weights.download import cache_path

torch.set_num_threads(1)
C2D = ('2d', '2d', '2d', '2d')
TIMM_ARGS = dict(
    base_channels=8,
    num_classes=5,
    block_types=('2d', 'smallbig', ['smallbig', '3d', '2d'], '3d'),
    big_views=(True, False, True),
    shared_big_weights=False,
)


def clip() -> torch.Tensor:
    return torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))


def randomized(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(
                    torch.rand(tensor.shape, generator=gen) + 0.5
                    if 'running_var' in name
                    else torch.randn(tensor.shape, generator=gen) * 0.2
                )
    return model.eval()


def timm_model(**kwargs) -> torch.nn.Module:
    return randomized(timm.create_model('smallbig_resnet23', **dict(TIMM_ARGS, **kwargs)))


# ----------------------------------------------------------------------------- torch hub cache


def test_url_downloads_into_the_torch_hub_cache_then_works_offline(server, torch_home, monkeypatch):
    url, root, stop = server
    model = timm_model()
    torch.save({'state_dict': model.state_dict()}, root / 'tiny.pth')
    path = sources.resolve_pretrained(f'{url}/tiny.pth', progress=False)
    assert path == cache_path(f'{url}/tiny.pth') and os.path.getsize(path) > 0
    assert path.startswith(str(torch_home)) and path.endswith('/tiny.pth')
    stop()
    assert sources.resolve_pretrained(f'{url}/tiny.pth') == path  # cached: no network needed
    loaded = timm.create_model(
        'smallbig_resnet23',
        **TIMM_ARGS,
        pretrained=True,
        pretrained_cfg_overlay=dict(file=f'{url}/tiny.pth'),
    ).eval()
    assert torch.equal(loaded(clip()), model(clip()))
    assert loaded.pretrained_cfg['file'] == path and 'state_dict' not in loaded.pretrained_cfg

    with pytest.raises(CheckpointError) as info:  # server gone, not cached: one line
        sources.resolve_pretrained(f'{url}/other.pth')
    message = str(info.value)
    assert 'download failed' in message and cache_path(f'{url}/other.pth') in message
    assert '\n' not in message
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(
        CheckpointError, match=r'HF_HUB_OFFLINE is set.*put it at .*/url-[0-9a-f]{16}/other\.pth'
    ):
        sources.resolve_pretrained(f'{url}/other.pth')


def test_downloaded_files_go_through_the_guarded_reader(server, torch_home):
    url, root, _ = server
    (root / 'evil.pth').write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError, match='not a PyTorch checkpoint'):
        load_weights(tiny(), f'{url}/evil.pth')


def test_torchvision_uri_downloads_checks_the_hash_and_inflates(server, torch_home, monkeypatch):
    url, root, stop = server
    sd_2d = {
        k: v.squeeze(2) if v.ndim == 5 else v
        for k, v in randomized(tiny(block_types=C2D)).state_dict().items()
    }
    sd_2d.update({'fc.weight': torch.zeros(10, 256), 'fc.bias': torch.zeros(10)})
    torch.save(sd_2d, root / 'tmp.pth')
    digest = hashlib.sha256((root / 'tmp.pth').read_bytes()).hexdigest()[:8]
    os.rename(root / 'tmp.pth', root / f'resnet50-{digest}.pth')
    shutil.copy(root / f'resnet50-{digest}.pth', root / 'resnet101-00000000.pth')
    monkeypatch.setitem(sources.TORCHVISION_URLS, 'resnet50', f'{url}/resnet50-{digest}.pth')
    monkeypatch.setitem(sources.TORCHVISION_URLS, 'resnet101', f'{url}/resnet101-00000000.pth')

    model = tiny()
    message = load_weights(model, 'torchvision://resnet50', inflate_2d=True).line()
    assert 'inflated 2D weights from torchvision://resnet50' in message
    assert torch.equal(model.conv1.weight[:, :, 0], sd_2d['conv1.weight'])
    with pytest.raises(CheckpointError, match='sha256 is .* the file name says -00000000'):
        load_weights(tiny(), 'torchvision://resnet101', inflate_2d=True)
    assert not (torch_home / 'resnet101-00000000.pth').exists()
    stop()
    load_weights(tiny(), 'torchvision://resnet50', inflate_2d=True)  # from the cache
    with pytest.raises(CheckpointError, match='unknown torchvision name'):
        sources.resolve_pretrained('torchvision://vgg16')
    with pytest.raises(CheckpointError, match='unsupported source'):
        sources.resolve_pretrained('open-mmlab://resnet50')


# ----------------------------------------------------------------------------- hub folders


def _mmengine_checkpoint(path, model):
    cfg = (
        "model = dict(\n    type='Recognizer3D',\n    backbone=dict(\n"
        "        type='SmallBigResNet', depth=23, base_channels=8,\n"
        f'        block_types={list(TIMM_ARGS["block_types"])!r},\n'
        '        big_views=(True, False, True), shared_big_weights=False),\n'
        "    cls_head=dict(type='I3DHead', num_classes=5, in_channels=256),\n"
        "    data_preprocessor=dict(type='ActionDataPreprocessor',\n"
        '        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]))\n'
        "test_pipeline = [\n    dict(type='DecordInit'),\n"
        "    dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=10),\n"
        "    dict(type='Resize', scale=(-1, 36)),\n"
        "    dict(type='ThreeCrop', crop_size=32),\n]\n"
        'train_dataloader = dict(\n'
        "    dataset=dict(type='VideoDataset', ann_file='motion_train.txt'))\n"
        "train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=3)\n"
    )
    from smallbig_mm.weights.layouts import from_timm_state_dict

    torch.save(
        {
            'meta': {'cfg': cfg, 'epoch': 3, 'experiment_name': 'tiny_motion'},
            'state_dict': from_timm_state_dict(model.state_dict(), 'mmaction'),
            'optimizer': {},
        },
        path,
    )


def test_to_hf_round_trip_config_card_and_timm_local_dir(tmp_path, caplog):
    model = timm_model()
    _mmengine_checkpoint(tmp_path / 'epoch_3.pth', model)
    out = tmp_path / 'smallbig_tiny'
    result = run_tool(
        [
            PYTHON,
            'tools/convert_checkpoint.py',
            str(tmp_path / 'epoch_3.pth'),
            str(out),
            '--to',
            'hf',
            '--license',
            'apache-2.0',
        ],
        cwd=REPO,
    )
    assert "model_args from the checkpoint's config" in result.stdout
    assert sorted(os.listdir(out)) == ['README.md', 'config.json', 'model.safetensors']
    assert not [n for n in os.listdir(tmp_path) if n.startswith('.')]  # no temp folder left
    config = json.loads((out / 'config.json').read_text())
    assert config['architecture'] == 'smallbig_resnet23' and config['num_classes'] == 5
    assert config['model_args']['block_types'] == ['2d', 'smallbig', ['smallbig', '3d', '2d'], '3d']
    assert config['model_args']['num_frames'] == 4
    assert config['pretrained_cfg']['input_size'] == [3, 32, 32]
    assert config['pretrained_cfg']['mean'] == [0.485, 0.456, 0.406]
    assert config['weights_meta']['input']['frame_interval'] == 2
    card = (out / 'README.md').read_text()
    assert card.startswith('---\n') and '\nlibrary_name: timm\nlicense: apache-2.0\n' in card
    assert '- video-classification' in card and '2006.14582' in card
    assert 'dataset: motion_train.txt' in card and 'epochs: 3 of 3' in card and 'GMACs' in card
    assert '4 frames, 2 apart' in card and '10 clip(s) x 3 crop(s)' in card

    loaded = timm.create_model(f'local-dir:{out}', pretrained=True).eval()
    assert torch.equal(loaded(clip()), model(clip()))

    with caplog.at_level(logging.WARNING):  # fine-tuning with other classes: head dropped
        finetune = timm.create_model(f'local-dir:{out}', pretrained=True, num_classes=3)
    assert finetune.fc.out_features == 3 and 'fc.weight, fc.bias' in caplog.text
    assert torch.equal(finetune.conv1.weight, model.conv1.weight)

    # an existing non-empty folder is refused (one line), replaced with --force
    again = run_main_status('smallbig-convert', [tmp_path / 'epoch_3.pth', out, '--to', 'hf'])
    assert again.returncode == 1 and again.stderr.count('\n') == 1 and '--force' in again.stderr
    forced = run_main_status(
        'smallbig-convert', [tmp_path / 'epoch_3.pth', out, '--to', 'hf', '--force']
    )
    assert forced.returncode == 0, forced.stderr
    # an output folder holding the input is refused even with --force (it would delete it)
    shutil.copy(tmp_path / 'epoch_3.pth', out / 'epoch_3.pth')
    inside = run_main_status(
        'smallbig-convert', [out / 'epoch_3.pth', out, '--to', 'hf', '--force']
    )
    assert inside.returncode == 2 and inside.stderr.startswith('error: ')
    assert 'holds the input' in inside.stderr and (out / 'epoch_3.pth').is_file()


def test_to_hf_infers_the_architecture_and_says_training_is_unknown(tmp_path):
    from smallbig_mm.weights.hub import write_hub_folder

    model = timm_model()
    torch.save(model.state_dict(), tmp_path / 'bare.pth')
    umask = os.umask(0o027)
    try:
        summary = write_hub_folder(str(tmp_path / 'bare.pth'), str(tmp_path / 'hub'))
    finally:
        os.umask(umask)
    assert summary.args_from == 'the state dict shapes'
    assert '- config: unknown' in (tmp_path / 'hub' / 'README.md').read_text()
    for name in ('config.json', 'model.safetensors', 'README.md'):
        assert os.stat(tmp_path / 'hub' / name).st_mode & 0o777 == 0o640
    loaded = timm.create_model(f'local-dir:{tmp_path / "hub"}', pretrained=True).eval()
    assert torch.equal(loaded(clip()), model(clip()))
    from safetensors import safe_open

    from smallbig_mm.utils.provenance import sha256_file

    with safe_open(str(tmp_path / 'hub' / 'model.safetensors'), 'pt') as f:  # its source
        assert f.metadata()['source_sha256'] == sha256_file(tmp_path / 'bare.pth')
    with pytest.raises(CheckpointError, match='do not rebuild'):
        write_hub_folder(
            str(tmp_path / 'bare.pth'),
            str(tmp_path / 'bad'),
            model_args=dict(shared_big_weights=True),
        )
    assert not (tmp_path / 'bad').exists()


def _hf_cache(hf_home, repo_id, folder):
    """Lays out ``folder`` as the cached snapshot of ``repo_id`` (huggingface_hub's layout)."""
    commit = 'a' * 40
    repo = hf_home / 'hub' / ('models--' + repo_id.replace('/', '--'))
    shutil.copytree(folder, repo / 'snapshots' / commit)
    (repo / 'refs').mkdir()
    (repo / 'refs' / 'main').write_text(commit)


def test_hf_hub_from_the_local_cache_offline(tmp_path):
    model = timm_model()
    torch.save(model.state_dict(), tmp_path / 'w.pth')
    torch.save(model(clip()), tmp_path / 'logits.pt')
    converted = run_main_status(
        'smallbig-convert', [tmp_path / 'w.pth', tmp_path / 'hub', '--to', 'hf']
    )
    assert converted.returncode == 0, converted.stderr
    _hf_cache(tmp_path / 'hf', 'someorg/smallbig-tiny', tmp_path / 'hub')
    script = f"""
import timm, torch
import smallbig_mm
from smallbig_mm.weights import CheckpointError
from smallbig_mm.weights import load_weights
torch.set_num_threads(1)
x = torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))
model = timm.create_model('hf-hub:someorg/smallbig-tiny', pretrained=True).eval()
assert torch.equal(model(x), torch.load({str(tmp_path / 'logits.pt')!r})), 'logits differ'
print(load_weights(timm.create_model('smallbig_resnet23', base_channels=8, num_classes=2,
      block_types=('2d', 'smallbig', ['smallbig', '3d', '2d'], '3d'),
      big_views=(True, False, True), shared_big_weights=False), 'hf-hub:someorg/smallbig-tiny',
      policy='finetune').line())
from smallbig_mm.timm_models.build import create_with_weights
built = create_with_weights('smallbig_resnet23', 'hf-hub:someorg/smallbig-tiny').eval()
assert torch.equal(built(x), model(x)), 'the Hub config.json model_args were not applied'
try:
    load_weights(model, 'hf-hub:someorg/missing')
except CheckpointError as err:
    print('ERROR', err)
"""
    result = run_tool(
        [PYTHON, '-c', script], cwd=REPO, HF_HOME=str(tmp_path / 'hf'), HF_HUB_OFFLINE='1'
    )
    assert 'classifier was dropped (fc.weight, fc.bias' in result.stdout
    error = result.stdout.split('ERROR ', 1)[1].strip()
    assert 'not in the Hugging Face cache' in error and str(tmp_path / 'hf' / 'hub') in error
    assert '\n' not in error


# ----------------------------------------------------------------------------- torch.hub


def test_hubconf_random_init_and_weights(tmp_path, caplog):
    random = torch.hub.load(
        str(REPO), 'smallbig_resnet23', source='local', base_channels=8, num_classes=4
    )
    assert random.fc.out_features == 4
    for name in (
        'smallbig_resnet50',
        'smallbig_resnet101',
        'smallbig_resnet50_extra',
        'smallbig_c2d_resnet50',
        'smallbig_3d_resnet50',
    ):
        assert callable(
            torch.hub.load(
                str(REPO),
                name,
                source='local',
                base_channels=8,
                num_classes=2,
                skip_validation=True,
            ).forward
        )
    model = timm_model()
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'w.pth')
    from smallbig_mm.weights.hub import write_hub_folder

    write_hub_folder(str(tmp_path / 'w.pth'), str(tmp_path / 'hub'))
    from_folder = torch.hub.load(
        str(REPO), 'smallbig_resnet23', source='local', weights=str(tmp_path / 'hub')
    ).eval()
    assert torch.equal(from_folder(clip()), model(clip()))
    from_file = torch.hub.load(
        str(REPO),
        'smallbig_resnet23',
        source='local',
        weights=str(tmp_path / 'w.pth'),
        **{k: v for k, v in TIMM_ARGS.items() if k != 'num_classes'},
    )
    assert torch.equal(from_file.eval()(clip()), model(clip()))
    with caplog.at_level(logging.WARNING):
        tuned = torch.hub.load(
            str(REPO),
            'smallbig_resnet23',
            source='local',
            weights=str(tmp_path / 'hub'),
            num_classes=3,
        )
    assert (
        tuned.fc.out_features == 3 and 'classifier was dropped (fc.weight, fc.bias' in caplog.text
    )


def test_to_hf_never_replaces_a_file_with_a_folder(tmp_path):
    from smallbig_mm.utils.files import OutputPathError
    from smallbig_mm.weights.hub import write_hub_folder

    torch.save(timm_model().state_dict(), tmp_path / 'w.pth')
    (tmp_path / 'notes').write_text('mine')
    with pytest.raises(OutputPathError, match='is a file'):
        write_hub_folder(str(tmp_path / 'w.pth'), str(tmp_path / 'notes'), force=True)
    assert (tmp_path / 'notes').read_text() == 'mine'
