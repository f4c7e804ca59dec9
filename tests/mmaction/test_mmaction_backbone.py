"""The MMAction2 backbone: the ResNet3d contract, in the spirit of MMAction2's own tests."""

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from smallbig_mm.mmaction.backbone import SmallBigResNetBackbone

init_default_scope('mmaction')


def tiny(**kwargs) -> SmallBigResNetBackbone:
    kwargs.setdefault('depth', 23)
    kwargs.setdefault('base_channels', 4)
    return MODELS.build(dict(type='SmallBigResNet', **kwargs))


def clip(batch: int = 2, frames: int = 4, size: int = 32) -> torch.Tensor:
    return torch.randn(batch, 3, frames, size, size)


def test_registered_under_smallbig_resnet():
    assert MODELS.get('SmallBigResNet') is SmallBigResNetBackbone


def test_int_out_indices_give_a_tensor_and_sequences_a_tuple():
    x = clip(size=64)
    assert tiny()(x).shape == (2, 128, 4, 2, 2)
    assert tiny(out_indices=1)(x).shape == (2, 32, 4, 8, 8)
    outs = tiny(out_indices=(0, 1, 2, 3))(x)
    assert isinstance(outs, tuple)
    assert [o.shape[1:3] for o in outs] == [(16, 4), (32, 4), (64, 4), (128, 4)]
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    assert isinstance(tiny(out_indices=(3,))(x), tuple)


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(out_indices=4), 'out_indices must be a stage index in 0..3'),
        (dict(out_indices=(0, 5)), 'out_indices'),
        (dict(out_indices=()), 'non-empty'),
        (dict(frozen_stages=5), 'frozen_stages must be an int in -1..4'),
        (dict(frozen_stages=-2), 'frozen_stages'),
        (dict(depth=18), 'unknown depth 18'),
        (dict(block_types=('2d', 'smallbig', 'smallbig', 'c3d')), "unknown block type 'c3d'"),
        (
            dict(pretrained='x.pth', init_cfg=dict(type='Pretrained', checkpoint='x.pth')),
            'either pretrained or init_cfg',
        ),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kwargs)


def test_bad_clip_raises():
    with pytest.raises(ValueError, match=r'\(N, 3, T, H, W\)'):
        tiny()(torch.randn(2, 4, 3, 32, 32))


@pytest.mark.parametrize('frozen_stages', [0, 2, 4])
def test_frozen_stages_stay_frozen_in_train_mode(frozen_stages):
    model = tiny(frozen_stages=frozen_stages)
    model.train()
    frozen = [model.conv1, model.bn1, *model.stages[:frozen_stages]]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    for module in model.stages[frozen_stages:]:
        assert all(p.requires_grad for p in module.parameters())
        assert all(m.training for m in module.modules())


def test_norm_eval_keeps_batchnorms_in_eval_through_train():
    model = tiny(norm_eval=True)
    model.train()
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert norms and not any(m.training for m in norms)
    before = norms[-1].running_mean.clone()
    model(clip())
    assert torch.equal(norms[-1].running_mean, before)
    assert model.layer1[0].conv1.training


def test_with_cp_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = tiny()
    for m in plain.modules():
        if isinstance(m, _BatchNorm):  # make the zero-initialised big views matter
            nn.init.uniform_(m.weight, 0.5, 1.5)
    checkpointed = tiny(with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = clip()
    outs = []
    for model in (plain, checkpointed):
        out = model(x)
        out.sum().backward()
        outs.append((out.detach(), {n: p.grad for n, p in model.named_parameters()}))
    torch.testing.assert_close(outs[0][0], outs[1][0])
    for name, grad in outs[0][1].items():
        torch.testing.assert_close(grad, outs[1][1][name], msg=name)


def test_norm_conv_and_act_cfgs_choose_the_layers():
    model = tiny(
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1),
    )
    assert isinstance(model.layer2[0].bn1, nn.GroupNorm)
    assert isinstance(model.layer2[0].big1.bn, nn.GroupNorm)
    assert model.layer2[0].big1.bn.weight.abs().sum() == 0  # big views start at zero
    assert all(
        isinstance(getattr(model.layer3[0], name), nn.LeakyReLU)
        for name in ('relu1', 'relu2', 'relu')
    )
    assert model(clip()).shape == (2, 128, 4, 1, 1)
    sync = tiny(norm_cfg=dict(type='SyncBN', requires_grad=True))
    assert isinstance(sync.layer4[0].big3.bn, nn.SyncBatchNorm)
    frozen_norms = tiny(norm_cfg=dict(type='BN3d', requires_grad=False))
    assert not frozen_norms.bn1.weight.requires_grad


def test_zero_init_residual():
    model = tiny(zero_init_residual=True)
    assert all(block.bn3.weight.abs().sum() == 0 for stage in model.stages for block in stage)
    assert tiny().layer1[0].bn3.weight.abs().sum() > 0


def test_init_cfg_pretrained_loads_a_recognizer_checkpoint(tmp_path):
    source = tiny()
    nn.init.normal_(source.layer3[0].big2.bn.weight)
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    path = tmp_path / 'recognizer.pth'
    torch.save({'state_dict': state}, path)
    model = tiny(init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    torch.testing.assert_close(model.layer3[0].big2.bn.weight, source.layer3[0].big2.bn.weight)


def build_recognizer(num_classes: int = 3) -> nn.Module:
    return MODELS.build(
        dict(
            type='Recognizer3D',
            backbone=dict(type='SmallBigResNet', depth=23, base_channels=4),
            cls_head=dict(
                type='I3DHead', in_channels=128, num_classes=num_classes, average_clips='prob'
            ),
            data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCTHW'),
        )
    )


def test_recognizer3d_train_step_and_multi_view_test_step():
    recognizer = build_recognizer()
    recognizer.init_weights()
    samples = [ActionDataSample().set_gt_label(i % 3) for i in range(2)]
    data = dict(
        inputs=[torch.randint(0, 255, (1, 3, 4, 32, 32)).float() for _ in range(2)],
        data_samples=samples,
    )
    optim = OptimWrapper(torch.optim.SGD(recognizer.parameters(), lr=0.01))
    losses = recognizer.train_step(data, optim)
    assert torch.isfinite(losses['loss_cls'])

    views = 6  # 2 clips x 3 crops
    data = dict(
        inputs=[torch.randint(0, 255, (views, 3, 4, 32, 32)).float() for _ in range(2)],
        data_samples=[ActionDataSample().set_gt_label(0) for _ in range(2)],
    )
    results = recognizer.test_step(data)
    assert len(results) == 2 and results[0].pred_score.shape == (3,)
    torch.testing.assert_close(results[0].pred_score.sum(), torch.tensor(1.0))


def test_pretrained2d_inflates_a_2d_resnet_exactly(tmp_path):
    torchvision = pytest.importorskip('torchvision')
    resnet = torchvision.models.resnet50(weights=None)
    path = tmp_path / 'resnet50_2d.pth'
    torch.save(resnet.state_dict(), path)
    model = tiny(depth=50, base_channels=64, pretrained=str(path), pretrained2d=True)
    model.init_weights()
    state_2d = resnet.state_dict()
    for name in ('conv1.weight', 'layer3.2.conv2.weight', 'layer4.0.downsample.0.weight'):
        assert torch.equal(model.state_dict()[name][:, :, 0], state_2d[name]), name
    assert torch.equal(model.layer2[0].bn1.running_var, state_2d['layer2.0.bn1.running_var'])
    assert model.layer2[0].big1.bn.weight.abs().sum() == 0  # big views stay at their init


def test_pretrained_3d_checkpoint_loads_with_pretrained2d_false(tmp_path):
    source = tiny()
    nn.init.normal_(source.layer4[0].big3.bn.weight)
    path = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), path)
    model = tiny(pretrained=str(path), pretrained2d=False)
    model.init_weights()
    torch.testing.assert_close(model.layer4[0].big3.bn.weight, source.layer4[0].big3.bn.weight)


def test_registry_name_is_the_class_name_and_old_names_still_work():
    from mmaction.registry import MODELS

    import smallbig_mm.mmaction as plugin
    from smallbig_mm.timm_models import SmallBigNet, SmallBigResNetClassifier

    assert MODELS.get('SmallBigResNet') is plugin.SmallBigResNet
    assert plugin.SmallBigResNetBackbone is plugin.SmallBigResNet
    assert SmallBigNet is SmallBigResNetClassifier
