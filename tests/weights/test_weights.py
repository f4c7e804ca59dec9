"""smallbig_mm.weights: layouts both ways, 2D inflation, safe reading, clear load errors."""

import os
import pickle

import pytest
import torch
from torch import Tensor, nn

from smallbig_mm.models import SmallBigResNet
from smallbig_mm.weights import (
    LAYOUTS,
    CheckpointError,
    detect_layout,
    inflate_2d_state_dict,
    load_weights,
    read_checkpoint,
    write_checkpoint,
)
from smallbig_mm.weights.io import read_state_dict
from smallbig_mm.weights.layouts import from_timm_state_dict, to_timm_state_dict

torch.set_num_threads(1)
C2D = ('2d', '2d', '2d', '2d')
THREE_D = ('2d', '2d', '3d', '3d')
EXTRA = (False, True, True, True)
VARIANTS = {
    'paper': {},
    'extra': dict(extra_stages=EXTRA),
    'c2d': dict(block_types=C2D),
    '3d': dict(block_types=THREE_D),
    'unshared': dict(shared_big_weights=False),
}


class TinyClassifier(SmallBigResNet):
    """The core network plus a classifier ``fc``: the timm layout."""

    def __init__(self, num_classes: int = 5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(super().forward(x).mean(dim=(2, 3, 4)))


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random norm layers (big views and extra units included, so they matter); eval mode.

    Convs and linears keep their initialisation, so activations stay in a sane range.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                channels = module.num_features
                module.weight.copy_(torch.rand(channels, generator=gen) * 0.5 + 0.25)
                module.bias.copy_(torch.randn(channels, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(channels, generator=gen) * 0.2)
                module.running_var.copy_(torch.rand(channels, generator=gen) + 0.5)
                module.num_batches_tracked.fill_(int(torch.randint(1, 99, (1,), generator=gen)))
            elif isinstance(module, nn.Linear):
                module.bias.copy_(torch.randn(module.out_features, generator=gen) * 0.2)
    return model.eval()


def tiny(
    depth: int = 23, base_channels: int = 8, classifier: bool = True, seed: int = 0, **kwargs
) -> nn.Module:
    cls = TinyClassifier if classifier else SmallBigResNet
    return randomize(cls(depth=depth, base_channels=base_channels, **kwargs), seed)


def clip() -> Tensor:
    return torch.randn(1, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))


def squeeze_2d(state_dict):
    """A 2D ResNet state dict (torchvision layout) from a C2D core model's."""
    return {k: v.squeeze(2) if v.ndim == 5 else v for k, v in state_dict.items()}


# ----------------------------------------------------------------------------- layouts


@pytest.mark.parametrize(
    'layout, variant',
    [
        (layout, variant)
        for layout in LAYOUTS
        for variant in sorted(VARIANTS)
        if (layout, variant) != ('reference', 'unshared')
    ],
)  # refused: see the test below
def test_every_layout_both_directions_gives_identical_logits(layout, variant):
    source = tiny(**VARIANTS[variant])
    timm_sd = source.state_dict()
    converted = from_timm_state_dict(timm_sd, layout)
    assert detect_layout(converted) == layout
    back = to_timm_state_dict(converted)
    expected = (
        timm_sd
        if layout != 'mmaction_backbone'
        else {k: v for k, v in timm_sd.items() if not k.startswith('fc.')}
    )
    assert list(back) == list(expected)
    assert all(torch.equal(back[k], expected[k]) for k in expected)

    if layout == 'mmaction_backbone':  # no classifier: compare the backbone's res5 maps
        target = tiny(classifier=False, seed=1, **VARIANTS[variant])
        load_weights(target, converted)
        with torch.no_grad():
            assert torch.equal(target(clip()), SmallBigResNet.forward(source, clip()))
    else:
        target = tiny(seed=1, **VARIANTS[variant])
        load_weights(target, converted)
        with torch.no_grad():
            assert torch.equal(target(clip()), source(clip()))


def test_layout_names_match_the_reference_and_mmaction2():
    sd = tiny(extra_stages=EXTRA).state_dict()
    ref = from_timm_state_dict(sd, 'reference')
    for key in (
        'module.layer2.0.big1.1.weight',
        'module.layer3.1.big3.1.running_var',
        'module.layer2.0.big4_1.weight',
        'module.layer2.0.big4_2.0.weight',
        'module.layer2.0.big4_2.1.bias',
        'module.layer1.0.downsample.0.weight',
        'module.fc.weight',
    ):
        assert key in ref
    assert len(ref) == len(sd) and all(k.startswith('module.') for k in ref)
    mm = from_timm_state_dict(sd, 'mmaction')
    assert 'cls_head.fc_cls.weight' in mm and 'backbone.layer2.0.extra.reduce.weight' in mm
    assert detect_layout({k[len('module.') :]: v for k, v in ref.items()}) == 'reference'


def test_reference_resnet50_has_515_keys():  # docs/architecture.md, reference checkpoint layout
    ref = from_timm_state_dict(TinyClassifier(depth=50, base_channels=8).state_dict(), 'reference')
    assert len(ref) == 515
    assert sum(1 for k in ref if '.big' in k) == 13 * 3 * 5  # res3-res5 blocks, 3 views, 5 each


def test_detect_layout_of_2d_and_foreign_state_dicts():
    sd_2d = squeeze_2d(tiny(block_types=C2D).state_dict())
    assert detect_layout(sd_2d) == 'resnet2d'
    mmcls = {('head.' if k.startswith('fc.') else 'backbone.') + k: v for k, v in sd_2d.items()}
    assert detect_layout(mmcls) == 'resnet2d_mmcls'
    with pytest.raises(CheckpointError, match='empty'):
        detect_layout({})
    with pytest.raises(CheckpointError, match='different model'):
        detect_layout(nn.LSTM(4, 4).state_dict())
    with pytest.raises(CheckpointError, match='2D ResNet'):
        to_timm_state_dict(sd_2d)


def test_reference_layout_refuses_unshared_big_views():
    with pytest.raises(CheckpointError, match='unshared'):
        from_timm_state_dict(tiny(shared_big_weights=False).state_dict(), 'reference')


@pytest.mark.mmaction
def test_real_timm_model_and_mmaction2_recognizer_take_the_layouts():
    import mmaction.models  # noqa: F401  (registers Recognizer3D, I3DHead, the preprocessor)
    import timm
    from mmaction.registry import MODELS
    from mmengine.registry import DefaultScope

    source = tiny()
    net = timm.create_model('smallbig_resnet23', base_channels=8, num_classes=5).eval()
    load_weights(net, from_timm_state_dict(source.state_dict(), 'reference'))
    with DefaultScope.overwrite_default_scope('mmaction'):
        recognizer = MODELS.build(
            dict(
                type='Recognizer3D',
                backbone=dict(type='SmallBigResNet', depth=23, base_channels=8),
                cls_head=dict(
                    type='I3DHead', in_channels=256, num_classes=5, average_clips='score'
                ),
                data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'),
            )
        )
    load_weights(recognizer.eval(), source.state_dict())
    with torch.no_grad():
        expected = source(clip())
        assert torch.allclose(net(clip()), expected, atol=1e-6)
        logits = recognizer.cls_head(recognizer.backbone(clip()))
        assert torch.allclose(logits, expected, atol=1e-6)


# ----------------------------------------------------------------------------- inflation


def _random_resnet2d(layers=(3, 4, 6, 3), seed: int = 0) -> nn.Module:
    import torchvision

    torch.manual_seed(seed)
    net = torchvision.models.resnet.ResNet(torchvision.models.resnet.Bottleneck, list(layers))
    return randomize(net, seed)


def test_inflated_smallbig_equals_2d_resnet_frame_by_frame_averaged_over_time(tmp_path):
    resnet = _random_resnet2d()  # torchvision resnet50, random weights
    path = str(tmp_path / 'resnet50.pth')
    torch.save(resnet.state_dict(), path)
    model = SmallBigResNet(depth=50).eval()
    report = load_weights(model, path, inflate_2d=True).inflation

    x = torch.randn(1, 3, 4, 32, 32, generator=torch.Generator().manual_seed(2))
    frames = x.transpose(1, 2).flatten(0, 1)  # (T, 3, H, W)
    trunk = nn.Sequential(*list(resnet.children())[:-1])  # up to the global average pool
    with torch.no_grad():
        expected = resnet.fc(trunk(frames).flatten(1).mean(0, keepdim=True))
        got = resnet.fc(model(x).mean(dim=(2, 3, 4)))
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4)

    assert len(report.inflated) == 53 and report.skipped_source == ['fc.weight', 'fc.bias']
    assert report.left_at_init and all('.big' in k for k in report.left_at_init)
    assert len(report.copied) + len(report.inflated) + len(report.left_at_init) == len(
        model.state_dict()
    )
    assert report.source == path and 'inflated (2D conv -> 3D): 53' in report.summary()


def test_mmcls_layout_inflates_like_torchvision():
    sd_2d = squeeze_2d(tiny(block_types=C2D).state_dict())
    mmcls = {('head.' if k.startswith('fc.') else 'backbone.') + k: v for k, v in sd_2d.items()}
    model = SmallBigResNet(depth=23, base_channels=8)
    from_tv, _ = inflate_2d_state_dict(sd_2d, model)
    from_mmcls, report = inflate_2d_state_dict(mmcls, model)
    assert sorted(report.skipped_source) == ['head.fc.bias', 'head.fc.weight']
    assert all(torch.equal(from_tv[k], from_mmcls[k]) for k in from_tv)


def test_temporal_kernels_are_repeated_over_time_and_divided():
    sd_2d = squeeze_2d(tiny(block_types=C2D).state_dict())
    model = SmallBigResNet(depth=23, base_channels=8, block_types=THREE_D)
    state, report = inflate_2d_state_dict(sd_2d, model)
    model.load_state_dict(state)
    weight = model.layer3[0].conv1.weight
    assert weight.shape[2] == 3 and 'layer3.0.conv1.weight' in report.inflated
    for t in range(3):
        assert torch.allclose(weight[:, :, t], sd_2d['layer3.0.conv1.weight'] / 3)
    assert torch.allclose(weight.sum(2), sd_2d['layer3.0.conv1.weight'], atol=1e-6)


def test_inflation_refuses_a_2d_net_of_another_depth_or_width_and_3d_checkpoints():
    sd_2d = squeeze_2d(tiny(block_types=C2D).state_dict())  # a 2D "ResNet-23", width 8
    with pytest.raises(CheckpointError, match='depth 23 but the model has depth 50'):
        inflate_2d_state_dict(sd_2d, SmallBigResNet(depth=50, base_channels=8))
    with pytest.raises(
        CheckpointError, match=r"has 8 channels but the model's 16: base_channels differ"
    ):
        inflate_2d_state_dict(sd_2d, SmallBigResNet(depth=23, base_channels=16))
    with pytest.raises(CheckpointError, match='not a 2D ResNet'):
        inflate_2d_state_dict(tiny().state_dict(), SmallBigResNet(depth=23, base_channels=8))


# torchvision:// and the other sources: tests/weights/test_pretrained_sources.py


# ----------------------------------------------------------------------------- load errors


def test_2d_checkpoint_hint():
    with pytest.raises(CheckpointError, match='2D ResNet checkpoint.*pretrained2d=True'):
        load_weights(tiny(), squeeze_2d(tiny(block_types=C2D).state_dict()))


def test_different_depth_lists_keys_with_a_hint():
    with pytest.raises(CheckpointError) as info:
        load_weights(tiny(depth=23), tiny(depth=50).state_dict())
    message = str(info.value)
    assert 'this checkpoint has depth 50 but the model has depth 23' in message
    assert 'unexpected in the checkpoint (267)' in message and 'layer1.1.conv1.weight' in message


def test_different_width_and_block_types_list_shapes_with_hints():
    with pytest.raises(CheckpointError) as info:
        load_weights(tiny(base_channels=8), tiny(base_channels=16).state_dict())
    message = str(info.value)
    assert 'shape mismatches' in message and 'conv1.weight: checkpoint (16, 3, 1, 7, 7)' in message
    assert 'base_channels differ' in message
    with pytest.raises(CheckpointError, match='checkpoint has big views the model lacks'):
        load_weights(tiny(block_types=C2D), tiny().state_dict())
    with pytest.raises(CheckpointError, match='temporal kernel sizes differ'):
        load_weights(
            tiny(block_types=THREE_D), tiny(block_types=('2d', '2d', '3d', '2d')).state_dict()
        )


def test_foreign_keys_are_a_different_model():
    state = dict(tiny().state_dict(), **{'encoder.proj.weight': torch.zeros(2, 2)})
    with pytest.raises(CheckpointError, match='different model'):
        load_weights(tiny(), state)


def test_other_number_of_classes_strict_and_not():
    source, target = tiny(num_classes=7), tiny(num_classes=5, seed=1)
    fc_before = target.fc.weight.clone()
    with pytest.raises(CheckpointError, match='7 classes in the checkpoint and 5 in the model'):
        load_weights(target, source.state_dict())
    report = load_weights(target, source.state_dict(), policy='partial')
    assert 'partial load (asked for): skipped shape mismatches (2): fc.weight' in report.line()
    assert torch.equal(target.fc.weight, fc_before)
    assert torch.equal(target.layer4[0].big3.bn.weight, source.layer4[0].big3.bn.weight)


def test_core_model_ignores_the_classifier_and_backbone_checkpoint_hint():
    source = tiny()
    core = tiny(classifier=False, seed=1)
    load_weights(core, source.state_dict())
    assert torch.equal(core.conv1.weight, source.conv1.weight)
    with pytest.raises(CheckpointError, match='no classifier'):
        load_weights(tiny(), core.state_dict())


# ----------------------------------------------------------------------------- files


def test_containers_are_unwrapped(tmp_path):
    sd = tiny().state_dict()
    for key in ('state_dict', 'model', 'state_dict_ema'):
        torch.save({key: sd, 'epoch': 3}, tmp_path / 'c.pth')
        assert list(read_state_dict(tmp_path / 'c.pth')) == list(sd)
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in sd.items()}
    torch.save({'state_dict_ema': ema, 'state_dict': sd}, tmp_path / 'c.pth')
    ckpt = read_checkpoint(tmp_path / 'c.pth')
    assert ckpt.container_key == 'state_dict'
    assert torch.equal(ckpt.state_dict['fc.bias'], sd['fc.bias'])


def test_reference_training_checkpoint_loads(tmp_path):
    source = tiny(extra_stages=EXTRA)
    optimizer = torch.optim.SGD(source.parameters(), lr=0.01, momentum=0.9)
    source(clip()).sum().backward()
    optimizer.step()
    source.eval()
    torch.save(
        {
            'epoch': 12,
            'state_dict': from_timm_state_dict(source.state_dict(), 'reference'),
            'best_metric': 71.5,
            'optimizer': optimizer.state_dict(),
        },
        tmp_path / 'best.pth',
    )
    target = tiny(extra_stages=EXTRA, seed=3)
    load_weights(target, tmp_path / 'best.pth')
    with torch.no_grad():
        assert torch.equal(target(clip()), source(clip()))


@pytest.mark.mmaction
def test_mmengine_training_checkpoint_loads_with_weights_only(tmp_path):
    import numpy as np
    from mmengine.logging import HistoryBuffer, MessageHub
    from mmengine.runner.checkpoint import save_checkpoint

    source = tiny()
    hub = MessageHub.get_instance('test_weights_mmengine')
    for step in range(3):
        hub.update_scalar('train/loss', 2.0 / (step + 1))
        hub.update_scalar('train/lr', np.float64(0.01))
    hub.update_info('iter', 3)
    save_checkpoint(
        {
            'meta': {
                'epoch': 1,
                'iter': 3,
                'seed': 0,
                'mmengine_version': '0.10.7',
                'dataset_meta': {'classes': ('a', 'b')},
            },
            'state_dict': from_timm_state_dict(source.state_dict(), 'mmaction'),
            'message_hub': hub.state_dict(),
            'optimizer': torch.optim.SGD(source.parameters(), lr=0.01, momentum=0.9).state_dict(),
            'param_schedulers': [],
        },
        str(tmp_path / 'epoch_1.pth'),
    )
    ckpt = read_checkpoint(tmp_path / 'epoch_1.pth')
    assert isinstance(ckpt.extras['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    target = tiny(seed=1)
    load_weights(target, tmp_path / 'epoch_1.pth')
    with torch.no_grad():
        assert torch.equal(target(clip()), source(clip()))


class _RunsCode:
    """A pickle payload whose unpickling would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.mark.parametrize('writer', ['torch.save', 'pickle.dump'])
def test_a_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path, writer):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    payload = {'state_dict': {'conv1.weight': [0.5]}, 'x': _RunsCode(str(marker))}
    if writer == 'torch.save':
        torch.save(payload, path)
    else:
        with open(path, 'wb') as f:
            pickle.dump(payload, f, protocol=2)
    with pytest.raises(CheckpointError) as info:
        read_state_dict(path)
    assert not marker.exists()
    message = str(info.value)
    assert message.startswith(f'{path}: refused to load') and 'system' in message
    assert 'could run arbitrary code' in message or 'can run arbitrary code' in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unreadable_files_name_the_file_and_the_problem(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(tiny().state_dict(), good)
    data = good.read_bytes()
    cases = {
        'truncated.pth': (data[: len(data) // 2], 'truncated or corrupt'),
        'empty.pth': (b'', 'empty'),
        'notes.pth': (b'epoch 3: loss 0.1\n', 'not a PyTorch checkpoint'),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=expected) as info:
            read_state_dict(tmp_path / name)
        assert str(info.value).startswith(str(tmp_path / name))
        assert info.value.__cause__ is None  # no unpickling traceback chained to it
        assert info.value.__context__ is None or info.value.__suppress_context__
    torch.save(tiny().state_dict(), tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    (tmp_path / 'legacy_cut.pth').write_bytes((tmp_path / 'legacy.pth').read_bytes()[:4000])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        read_state_dict(tmp_path / 'legacy_cut.pth')
    with pytest.raises(CheckpointError, match='no such file'):
        read_state_dict(tmp_path / 'missing.pth')
    torch.save({'epoch': 3, 'lr': [0.1]}, tmp_path / 'log.pth')
    with pytest.raises(CheckpointError, match='not a model checkpoint'):
        read_state_dict(tmp_path / 'log.pth')
    torch.save(torch.zeros(3), tmp_path / 'tensor.pth')
    with pytest.raises(CheckpointError, match='holds a Tensor'):
        read_state_dict(tmp_path / 'tensor.pth')


def test_checkpoint_of_another_model_names_the_file(tmp_path):
    torch.save(nn.LSTM(4, 4).state_dict(), tmp_path / 'vit.pth')
    with pytest.raises(CheckpointError, match=r'vit\.pth: .*this is not a ResNet-style checkpoint'):
        load_weights(tiny(), tmp_path / 'vit.pth')
    torch.save(tiny(depth=50).state_dict(), tmp_path / 'r50.pth')
    with pytest.raises(
        CheckpointError, match=r'(?s)r50\.pth: .*depth 50 but the model has depth 23'
    ):
        load_weights(tiny(), tmp_path / 'r50.pth')


def test_safetensors_round_trip_and_truncation(tmp_path):
    source = tiny()
    path = tmp_path / 'w.safetensors'
    write_checkpoint(
        from_timm_state_dict(source.state_dict(), 'mmaction'), path, metadata={'layout': 'mmaction'}
    )
    ckpt = read_checkpoint(path)
    assert ckpt.extras['layout'] == 'mmaction'
    target = tiny(seed=1)
    load_weights(target, ckpt.state_dict)
    with torch.no_grad():
        assert torch.equal(target(clip()), source(clip()))
    (tmp_path / 'cut.safetensors').write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match='cut.safetensors: not a valid safetensors'):
        read_state_dict(tmp_path / 'cut.safetensors')


def test_save_refuses_to_overwrite(tmp_path):
    path = tmp_path / 'w.pth'
    path.write_bytes(b'keep me')
    with pytest.raises(FileExistsError, match='refusing to overwrite'):
        write_checkpoint({'w': torch.ones(1)}, path)
    assert path.read_bytes() == b'keep me'
    write_checkpoint({'w': torch.ones(1)}, path, overwrite=True)
    assert torch.equal(read_state_dict(path)['w'], torch.ones(1))
    assert sorted(os.listdir(tmp_path)) == ['w.pth']  # no temporary file left behind
