"""The timm models: timm's generic model tests adapted to video, weights, and MMAction2.

Every registered ``smallbig*`` model is built tiny (``base_channels=8``) and run on clips
(2, 3, 4, 32, 32). Norms are randomised so that big views and extra units contribute
(fresh ones are zero and would hide mistakes).
"""

import copy
import re
from pathlib import Path

import pytest
import torch
from torch import nn

timm = pytest.importorskip('timm')

from helpers import PAPER_COUNTS  # noqa: E402
from smallbig_mm.analysis.complexity import count_macs, count_parameters  # noqa: E402
from smallbig_mm.timm_models import smallbig_timm  # noqa: E402
from smallbig_mm.timm_models.smallbig_timm import SmallBigNet  # noqa: E402
from smallbig_mm.weights import CheckpointError  # noqa: E402
from smallbig_mm.weights.layouts import from_timm_state_dict  # noqa: E402

FAMILY = {
    'smallbig_resnet23',
    'smallbig_resnet50',
    'smallbig_resnet101',
    'smallbig_resnet50_extra',
    'smallbig_c2d_resnet50',
    'smallbig_3d_resnet50',
}
MODELS = sorted(timm.list_models('smallbig*'))
TINY = dict(base_channels=8)
CLIP = (2, 3, 4, 32, 32)

# the variant of the paper table of each timm model (8 frames)
PAPER_TABLE = {
    name: PAPER_COUNTS[(variant, 8)]
    for name, variant in {
        'smallbig_c2d_resnet50': 'c2d-r50',
        'smallbig_3d_resnet50': '3d-r50',
        'smallbig_resnet23': 'r23',
        'smallbig_resnet50': 'r50',
        'smallbig_resnet50_extra': 'r50-extra',
        'smallbig_resnet101': 'r101',
    }.items()
}


def clip(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*(shape or CLIP), generator=torch.Generator().manual_seed(seed))


def randomize_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial affine parameters and statistics for every BatchNorm (big views too).

    In place, so that modules sharing these tensors (traced graphs) see the new values.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) * 0.5 + 0.25)
                m.bias.copy_(torch.randn(m.bias.shape, generator=generator) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)
    return model


def close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-5) -> bool:
    """Equal within float rounding, relative to the largest magnitude (maps reach ~1e3)."""
    return a.shape == b.shape and bool((a - b).abs().max() <= rel * b.abs().max())


def tiny(name: str = 'smallbig_resnet23', **kwargs) -> SmallBigNet:
    torch.manual_seed(0)
    return randomize_norms(timm.create_model(name, **{**TINY, **kwargs}))


# ----------------------------------------------------------------------------- registry


def test_registry_lists_exactly_the_family():
    assert set(MODELS) == FAMILY
    assert sorted(timm.list_models(module='smallbig_timm')) == MODELS


def test_names_shadow_nothing_in_timm():
    """Registry keys are unique: no timm file is named smallbig_timm, no timm model smallbig*."""
    timm_models_dir = Path(timm.__file__).parent / 'models'
    assert not (timm_models_dir / 'smallbig_timm.py').exists()
    defined = re.compile(r'^def (smallbig\w*)\(', re.MULTILINE)
    clashes = [
        (path.name, name)
        for path in timm_models_dir.glob('*.py')
        for name in defined.findall(path.read_text(encoding='utf-8'))
    ]
    assert clashes == []
    entrypoints = {name: timm.models.model_entrypoint(name) for name in MODELS}
    assert all(fn.__module__ == smallbig_timm.__name__ for fn in entrypoints.values())


@pytest.mark.parametrize('name', MODELS)
def test_pretrained_cfg_fields(name):
    model = timm.create_model(name, **TINY)
    cfg = model.pretrained_cfg
    assert cfg['architecture'] == name
    assert cfg['input_size'] == (3, 224, 224)
    assert cfg['mean'] == (0.485, 0.456, 0.406) and cfg['std'] == (0.229, 0.224, 0.225)
    assert cfg['num_classes'] == 400 == model.num_classes
    assert cfg['classifier'] == 'fc' == model.get_classifier(name_only=True)
    assert model.get_classifier() is model.fc
    assert cfg['first_conv'] == 'conv1' and isinstance(model.conv1, nn.Conv3d)
    assert model.conv1.in_channels == cfg['input_size'][0]
    assert cfg['paper_ids'] == 'arXiv:2006.14582'
    assert not any(cfg.get(k) for k in ('url', 'hf_hub_id', 'file'))  # no released weights
    notes = ' '.join(cfg['notes'])
    assert 'num_frames' in notes and 'no license' in notes
    assert model.num_frames == 8
    assert not timm.list_models('smallbig*', pretrained=True)


@pytest.mark.parametrize('name', MODELS)
def test_full_size_matches_the_paper_table(name):
    params, gmacs = PAPER_TABLE[name]
    model = timm.create_model(name, device='meta')
    assert next(model.parameters()).device.type == 'meta'
    assert count_parameters(model) == params
    assert model.num_features == 2048
    macs = count_macs(lambda: timm.create_model(name), (1, 3, 8, 224, 224))
    assert round(macs / 1e9, 2) == gmacs


# ----------------------------------------------------------------------------- forward / backward


@pytest.mark.parametrize('name', MODELS)
def test_forward(name):
    model = tiny(name, num_classes=7).eval()
    x = clip()
    with torch.no_grad():
        features = model.forward_features(x)
        out = model(x)
        pre_logits = model.forward_head(features, pre_logits=True)
    assert features.shape == (2, model.num_features, 4, 1, 1)
    assert out.shape == (2, 7) and torch.isfinite(out).all()
    assert pre_logits.shape == (2, model.head_hidden_size)
    assert torch.equal(model.forward_head(features), out)


def test_any_clip_length_and_size():
    model = tiny('smallbig_resnet50_extra', num_classes=3).eval()
    with torch.no_grad():
        for shape in ((1, 3, 1, 32, 32), (1, 3, 7, 64, 48)):
            assert model(clip(*shape)).shape == (1, 3)
    with pytest.raises(ValueError, match='unsqueeze'):
        model(clip(3, 4, 32, 32))


@pytest.mark.parametrize('name', MODELS)
def test_backward_every_parameter_gets_a_gradient(name):
    model = tiny(name, num_classes=5).train()
    model(clip()).logsumexp(dim=1).sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert no_grad == []


@pytest.mark.skip(
    reason='TorchScript does not apply: SmallBig units pass the shared conv '
    'module as an argument (BigView.forward(x, shared_conv)), which '
    'TorchScript cannot compile, and torch.jit.script is deprecated in '
    'torch 2.x; torch.fx and torch.export are tested instead'
)
def test_torchscript():
    torch.jit.script(tiny())


@pytest.mark.parametrize('name', ['smallbig_resnet50_extra', 'smallbig_3d_resnet50'])
def test_torch_export_matches_eager(name):
    model = tiny(name).eval()
    x = clip()
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        assert close(exported.module()(x), model(x))


@pytest.mark.parametrize('name', MODELS)
def test_fx_forward_and_backward_match_eager(name):
    from timm.layers import create_feature_extractor, get_graph_node_names

    model = tiny(name, num_classes=5).eval()
    train_nodes, eval_nodes = get_graph_node_names(model)
    assert train_nodes[-1] == eval_nodes[-1] == 'fc'
    graph = create_feature_extractor(model, return_nodes=[eval_nodes[-1]])
    randomize_norms(model, seed=1)  # weights change after tracing (training, loading)
    x = clip()
    assert close(graph(x)['fc'], model(x))
    graph(x)['fc'].sum().backward()
    assert all(p.grad is not None for p in graph.parameters())


# ----------------------------------------------------------------------------- features


def _copy_weights(features: nn.Module, model: nn.Module) -> nn.Module:
    """Gives a features_only wrapper ``model``'s weights (its keys may carry a prefix)."""
    source = model.state_dict()
    features.load_state_dict(
        {
            key: source[re.sub(r'^(model|body|graph_module)\.', '', key)]
            for key in features.state_dict()
        }
    )
    return features


@pytest.mark.parametrize('name', MODELS)
def test_features_only_gives_per_stage_5d_maps(name):
    model = tiny(name).eval()
    features = _copy_weights(timm.create_model(name, features_only=True, **TINY), model).eval()
    info = features.feature_info
    assert info.channels() == [8, 32, 64, 128, 256]
    assert info.reduction() == [2, 4, 8, 16, 32]
    assert info.module_name() == ['act', 'layer1', 'layer2', 'layer3', 'layer4']
    x = clip()
    with torch.no_grad():
        maps = features(x)
        expected = model.forward_intermediates(x, intermediates_only=True)
    assert [m.shape for m in maps] == [
        (2, c, 4, 32 // r, 32 // r) for c, r in zip(info.channels(), info.reduction())
    ]
    assert all(torch.equal(a, b) for a, b in zip(maps, expected))


@pytest.mark.parametrize('feature_cls', ['list', 'dict', 'getter', 'hook', 'fx'])
def test_every_feature_class_returns_the_selected_maps(feature_cls):
    model = tiny('smallbig_resnet50_extra').eval()
    features = timm.create_model(
        'smallbig_resnet50_extra',
        features_only=True,
        feature_cls=feature_cls,
        out_indices=(1, 3),
        **TINY,
    )
    features = _copy_weights(features, model).eval()
    x = clip()
    with torch.no_grad():
        maps = features(x)
        expected = model.forward_intermediates(x, indices=[1, 3], intermediates_only=True)
    if feature_cls == 'dict':
        assert list(maps) == ['1', '3']
        maps = list(maps.values())
    assert features.feature_info.channels() == [32, 128]
    assert len(maps) == 2 and all(close(a, b) for a, b in zip(maps, expected))


@pytest.mark.parametrize('name', MODELS)
def test_forward_intermediates_agrees_with_forward_features(name):
    model = tiny(name).eval()
    x = clip()
    with torch.no_grad():
        final, maps = model.forward_intermediates(x)
        assert torch.equal(final, model.forward_features(x))
        assert [m.shape[1] for m in maps] == [f['num_chs'] for f in model.feature_info]
        assert all(m.ndim == 5 and m.shape[2] == 4 for m in maps)
        last_two = model.forward_intermediates(x, indices=2, intermediates_only=True)
        early = model.forward_intermediates(
            x, indices=[0, -3], stop_early=True, output_fmt='NCTHW', intermediates_only=True
        )
    assert all(torch.equal(a, b) for a, b in zip(last_two, maps[3:]))
    assert all(torch.equal(a, b) for a, b in zip(early, maps[:3:2]))
    with pytest.raises(ValueError, match='NCTHW'):
        model.forward_intermediates(x, output_fmt='NHWC')


def test_prune_intermediate_layers_keeps_what_is_needed():
    model = tiny('smallbig_resnet50').eval()
    x = clip()
    with torch.no_grad():
        maps = model.forward_intermediates(x, intermediates_only=True)
        kept = model.prune_intermediate_layers([1, 2])
        assert kept == [1, 2]
        assert len(model.layer3) == len(model.layer4) == 0
        assert model.num_features == model.head_hidden_size == 64 and model.num_classes == 0
        assert torch.equal(model.forward_features(x), maps[2])
        assert torch.equal(model(x), maps[2])  # the head is gone, pooling too
        pruned = model.forward_intermediates(x, indices=[1, 2], intermediates_only=True)
    assert all(torch.equal(a, b) for a, b in zip(pruned, maps[1:3]))


# ----------------------------------------------------------------------------- training features


@pytest.mark.parametrize('name', MODELS)
def test_grad_checkpointing_gives_the_same_outputs_and_gradients(name):
    model = tiny(name, num_classes=5).train()
    checkpointed = copy.deepcopy(model)
    checkpointed.set_grad_checkpointing(True)
    x = clip()
    out, out_cp = model(x), checkpointed(x)
    assert torch.allclose(out, out_cp, atol=1e-6)
    out.sum().backward()
    out_cp.sum().backward()
    cp_params = dict(checkpointed.named_parameters())
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, cp_params[n].grad, atol=1e-5, rtol=1e-4), n


@pytest.mark.parametrize('name', MODELS)
def test_reset_classifier(name):
    model = tiny(name).eval()
    x = clip()
    with torch.no_grad():
        features = model.forward_features(x)
        model.reset_classifier(3)
        assert model(x).shape == (2, 3) and model.num_classes == 3
        model.reset_classifier(0)
        assert isinstance(model.get_classifier(), nn.Identity)
        assert torch.allclose(model(x), features.mean(dim=(2, 3, 4)))
        model.reset_classifier(0, 'max')
        assert torch.equal(model(x), features.amax(dim=(2, 3, 4)))
        model.reset_classifier(0, '')
        assert torch.equal(model(x), features)
        model.reset_classifier(6)  # keeps '': the classifier applies at every position
        dense = model(x)
    assert dense.shape == (2, 6, 4, 1, 1)
    assert torch.allclose(dense[:, :, 1, 0, 0], model.fc(features[:, :, 1, 0, 0]))


def test_bad_arguments_raise_with_the_accepted_values():
    with pytest.raises(ValueError, match="'avg'"):
        timm.create_model('smallbig_resnet23', global_pool='token', **TINY)
    with pytest.raises(ValueError, match='drop_rate'):
        timm.create_model('smallbig_resnet23', drop_rate=1.0, **TINY)
    with pytest.raises(ValueError, match='num_frames'):
        timm.create_model('smallbig_resnet23', num_frames=0, **TINY)
    with pytest.raises(ValueError, match='num_classes'):
        tiny().reset_classifier(-1)


def test_drop_rate_and_drop_path_rate():
    model = tiny('smallbig_resnet23', drop_rate=0.5, drop_path_rate=0.2).eval()
    drop_paths = [m.drop_prob for m in model.modules() if type(m).__name__ == 'DropPath']
    assert len(drop_paths) == 6 and max(drop_paths) == pytest.approx(0.2)  # 7 blocks, first 0
    x = clip()
    with torch.no_grad():
        assert torch.equal(model(x), tiny('smallbig_resnet23').eval()(x))  # eval: no dropping
        model.train()
        assert not torch.equal(model(x), model(x))


def test_group_matcher_groups_stem_blocks_and_head():
    from timm.models import group_parameters

    model = tiny('smallbig_resnet23')
    for coarse, groups in ((False, 1 + 7 + 1), (True, 1 + 4 + 1)):
        grouped = group_parameters(model, model.group_matcher(coarse=coarse))
        assert len(grouped) == groups
        assert grouped[0] == ['conv1.weight', 'bn1.weight', 'bn1.bias']
        assert grouped[max(grouped)] == ['fc.weight', 'fc.bias']
        assert sum(map(len, grouped.values())) == len(list(model.parameters()))


def test_device_and_dtype_arguments():
    model = timm.create_model('smallbig_resnet23', dtype=torch.float64, **TINY).eval()
    assert all(p.dtype == torch.float64 for p in model.parameters())
    model.reset_classifier(4)
    assert model(clip().double()).dtype == torch.float64


# ----------------------------------------------------------------------------- weights


def _save(tmp_path: Path, name: str, obj) -> str:
    path = str(tmp_path / name)
    torch.save(obj, path)
    return path


def _from_file(name: str, path: str, **kwargs) -> SmallBigNet:
    overlay = dict(file=path)
    if 'num_classes' in kwargs:
        overlay['num_classes'] = kwargs['num_classes']
    return timm.create_model(
        name, pretrained=True, pretrained_cfg_overlay=overlay, **{**TINY, **kwargs}
    ).eval()


@pytest.mark.parametrize('layout', ['timm', 'mmaction', 'reference'])
def test_loads_every_3d_layout_exactly(tmp_path, layout):
    source = tiny('smallbig_resnet50_extra', num_classes=5).eval()
    state = source.state_dict()
    if layout != 'timm':
        state = from_timm_state_dict(state, layout)
    container = {
        'reference': {'epoch': 3, 'state_dict': state, 'best_metric': 0.5},
        'mmaction': {'meta': {'epoch': 1}, 'state_dict': state},
    }.get(layout, state)
    path = _save(tmp_path, f'{layout}.pth', container)
    model = _from_file('smallbig_resnet50_extra', path, num_classes=5)
    x = clip()
    with torch.no_grad():
        assert torch.equal(model(x), source(x))


def test_backbone_checkpoint_keeps_a_fresh_classifier(tmp_path):
    source = tiny().eval()
    path = _save(
        tmp_path, 'backbone.pth', from_timm_state_dict(source.state_dict(), 'mmaction_backbone')
    )
    model = _from_file('smallbig_resnet23', path, num_classes=3)
    x = clip()
    with torch.no_grad():
        assert torch.equal(model.forward_features(x), source.forward_features(x))
    assert model(x).shape == (2, 3)


def test_classifier_of_another_size(tmp_path):
    source = tiny(num_classes=10).eval()
    path = _save(tmp_path, 'k10.pth', source.state_dict())
    x = clip()
    with torch.no_grad():
        kept = _from_file('smallbig_resnet23', path, num_classes=10)  # overlay num_classes too
        assert torch.equal(kept(x), source(x))
        fresh = timm.create_model(
            'smallbig_resnet23',
            pretrained=True,
            num_classes=7,
            pretrained_cfg_overlay=dict(file=path),
            **TINY,
        ).eval()
        assert torch.equal(fresh.forward_features(x), source.forward_features(x))
        headless = timm.create_model(
            'smallbig_resnet23',
            pretrained=True,
            num_classes=0,
            pretrained_cfg_overlay=dict(file=path),
            **TINY,
        ).eval()
        assert torch.equal(headless(x), source.forward_features(x).mean(dim=(2, 3, 4)))
    with pytest.raises(CheckpointError, match=r'fc\.weight: checkpoint \(10, 256\)') as err:
        timm.create_model(
            'smallbig_resnet23', pretrained=True, pretrained_cfg_overlay=dict(file=path), **TINY
        )
    assert 'num_classes=10' in str(err.value)


def test_mismatch_lists_missing_and_unexpected_keys(tmp_path):
    state = tiny('smallbig_resnet23').state_dict()
    state['layer9.0.conv1.weight'] = torch.zeros(1)
    path = _save(tmp_path, 'r23.pth', state)
    with pytest.raises(CheckpointError) as err:
        _from_file('smallbig_resnet50', path)
    message = str(err.value)
    assert 'smallbig_resnet50' in message
    assert 'missing in the checkpoint (219): layer1.1.conv1.weight' in message
    assert 'unexpected in the checkpoint (1): layer9.0.conv1.weight' in message
    baseline = tiny('smallbig_c2d_resnet50').state_dict()
    big_views = [
        k
        for k in tiny('smallbig_resnet50').state_dict()
        if k not in baseline and not k.endswith('num_batches_tracked')
    ]
    assert big_views[0] == 'layer2.0.big1.bn.weight'
    with pytest.raises(
        CheckpointError,
        match=rf'missing in the checkpoint \({len(big_views)}\): '
        r'layer2\.0\.big1\.bn\.weight',
    ):
        _from_file('smallbig_resnet50', _save(tmp_path, 'c2d.pth', baseline))
    wide = _save(tmp_path, 'wide.pth', tiny(base_channels=16).state_dict())
    with pytest.raises(CheckpointError, match=r'conv1\.weight: checkpoint \(16, 3, 1, 7, 7\)'):
        _from_file('smallbig_resnet23', wide)


@pytest.mark.parametrize(
    'name,layout',
    [('smallbig_resnet23', 'resnet2d'), ('smallbig_resnet50_extra', 'resnet2d_mmcls')],
)
def test_inflated_2d_resnet_computes_the_2d_network_frame_by_frame(tmp_path, name, layout):
    from timm.models.resnet import Bottleneck, ResNet

    torch.manual_seed(1)  # timm's 7x7 stem has 64 channels: ImageNet width, 1/2/3/1 blocks
    net2d = randomize_norms(ResNet(Bottleneck, [1, 2, 3, 1])).eval()
    state = net2d.state_dict()
    if layout == 'resnet2d_mmcls':
        state = {
            ('head.' + k if k.startswith('fc.') else 'backbone.' + k): v for k, v in state.items()
        }
    path = _save(tmp_path, '2d.pth', {'state_dict': state})
    model = timm.create_model(
        name, depth=23, pretrained=True, pretrained_cfg_overlay=dict(file=path)
    ).eval()
    x = clip()
    frames = x.transpose(1, 2).flatten(0, 1)  # (N * T, C, H, W)
    with torch.no_grad():
        expected = net2d.forward_features(frames).unflatten(0, (2, 4)).transpose(1, 2)
        assert close(model.forward_features(x), expected)


def test_inflates_a_torchvision_resnet(tmp_path):
    torchvision = pytest.importorskip('torchvision')
    net2d = torchvision.models.resnet.ResNet(torchvision.models.resnet.Bottleneck, [1, 2, 3, 1])
    path = _save(tmp_path, 'tv.pth', net2d.state_dict())
    model = timm.create_model(
        'smallbig_3d_resnet50', depth=23, pretrained=True, pretrained_cfg_overlay=dict(file=path)
    )
    kernel = net2d.layer3[0].conv1.weight
    inflated = model.layer3[0].conv1.weight  # 3x1x1: repeated over time, divided by 3
    assert inflated.shape == (*kernel.shape[:2], 3, 1, 1)
    assert torch.allclose(inflated.sum(dim=2, keepdim=True).squeeze(2), kernel)


# ----------------------------------------------------------------------------- MMAction2


def _write_videos(root: Path, count: int = 4, frames: int = 8, size: int = 32) -> Path:
    """Tiny random mp4 clips plus a VideoDataset annotation file ('name.mp4 label' lines)."""
    cv2 = pytest.importorskip('cv2')
    import numpy as np

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(count):
        name = f'clip{i}.mp4'
        writer = cv2.VideoWriter(str(root / name), cv2.VideoWriter_fourcc(*'mp4v'), 8, (size, size))
        for _ in range(frames):
            writer.write(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        writer.release()
        lines.append(f'{name} {i % 2}')
    (root / 'train.txt').write_text('\n'.join(lines) + '\n')
    return root


def _recognizer(backbone: dict, in_channels: int, num_classes: int = 2) -> dict:
    return dict(
        type='Recognizer3D',
        backbone=backbone,
        cls_head=dict(type='I3DHead', in_channels=in_channels, num_classes=num_classes),
        data_preprocessor=dict(
            type='ActionDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3, format_shape='NCTHW'
        ),
    )


def _logits(recognizer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Raw class scores (backbone + head, no preprocessing) of a recognizer for clips."""
    with torch.no_grad():
        return recognizer(x.unsqueeze(1), mode='tensor', stage='head')


@pytest.mark.mmaction
def test_trains_as_a_timm_backbone_under_recognizer3d_with_the_runner(tmp_path):
    pytest.importorskip('mmaction')
    from mmengine.config import Config
    from mmengine.runner import Runner

    data = _write_videos(tmp_path / 'videos')
    pipeline = [
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1),
        dict(type='DecordDecode'),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs'),
    ]
    backbone = dict(type='timm.smallbig_resnet23', global_pool='', num_classes=0, **TINY)
    cfg = Config(
        dict(
            default_scope='mmaction',
            model=_recognizer(backbone, in_channels=256),
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dict(
                    type='VideoDataset',
                    ann_file=str(data / 'train.txt'),
                    data_prefix=dict(video=str(data)),
                    pipeline=pipeline,
                ),
            ),
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            work_dir=str(tmp_path / 'work'),
            log_level='WARNING',
        )
    )
    runner = Runner.from_cfg(cfg)
    before = {n: p.detach().clone() for n, p in runner.model.named_parameters()}
    runner.train()
    recognizer = runner.model.eval()
    assert isinstance(recognizer.backbone, SmallBigNet)
    assert [n for n, p in recognizer.named_parameters() if torch.equal(before[n], p)] == []

    # the full training checkpoint (optimizer, message hub) loads into the timm model
    checkpoint = str(tmp_path / 'work' / 'epoch_1.pth')
    model = _from_file('smallbig_resnet23', checkpoint, num_classes=2)
    x = clip()
    with torch.no_grad():
        assert torch.equal(model(x), _logits(recognizer, x))


@pytest.mark.mmaction
def test_round_trip_mmaction_to_timm_to_mmaction(tmp_path):
    pytest.importorskip('mmaction')
    from mmaction.registry import MODELS

    import smallbig_mm.mmaction  # noqa: F401  (registers the SmallBigResNet backbone)

    backbone = dict(type='SmallBigResNet', depth=50, extra_stages=(False, True, True, True), **TINY)
    torch.manual_seed(0)
    source = randomize_norms(MODELS.build(_recognizer(backbone, in_channels=256))).eval()
    path = _save(tmp_path, 'mmaction.pth', {'state_dict': source.state_dict()})
    model = _from_file('smallbig_resnet50_extra', path, num_classes=2)
    x = clip()
    with torch.no_grad():  # the same weights; mmcv's conv class may take another conv kernel
        assert close(model(x), _logits(source, x))

    target = MODELS.build(_recognizer(backbone, in_channels=256)).eval()
    target.load_state_dict(from_timm_state_dict(model.state_dict(), 'mmaction'), strict=False)
    assert torch.equal(_logits(target, x), _logits(source, x))
