"""The plain-PyTorch core: exact sizes, C2D equivalence, any clip length, gradients, errors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import PAPER_COUNTS, randomize_norms, tiny
from smallbig_mm.analysis.complexity import count_macs, count_parameters
from smallbig_mm.models import BigViewPool, Bottleneck, ExtraUnit, SmallBigResNet

PAPER = ('2d', 'smallbig', 'smallbig', 'smallbig')
C2D = ('2d', '2d', '2d', '2d')
THREE_D = ('2d', '2d', '3d', '3d')
EXTRA = (False, True, True, True)

# the variants of the paper table as core arguments
VARIANTS = {
    'c2d-r50': dict(depth=50, block_types=C2D),
    '3d-r50': dict(depth=50, block_types=THREE_D),
    'r23': dict(depth=23),
    'r50': dict(depth=50),
    'r50-extra': dict(depth=50, extra_stages=EXTRA),
    'r101': dict(depth=101),
}
PAPER_TABLE = [
    (VARIANTS[variant], frames, params, gmacs)
    for (variant, frames), (params, gmacs) in PAPER_COUNTS.items()
]


class Classifier(nn.Module):
    """Backbone + global average pool + Linear, as in the paper's table."""

    def __init__(self, num_classes: int = 400, **kwargs) -> None:
        super().__init__()
        self.backbone = SmallBigResNet(**kwargs)
        self.fc = nn.Linear(self.backbone.num_features, num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x).mean(dim=(2, 3, 4)))


@pytest.mark.parametrize('kwargs,frames,params,gmacs', PAPER_TABLE)
def test_parameters_and_macs_match_the_paper_table(kwargs, frames, params, gmacs):
    with torch.device('meta'):
        assert count_parameters(Classifier(**kwargs)) == params
    macs = count_macs(lambda: Classifier(**kwargs), (1, 3, frames, 224, 224))
    assert round(macs / 1e9, 2) == gmacs


@pytest.mark.parametrize('depth,extra', [(50, 43_008), (101, 95_232)])
def test_big_view_norms_add_the_documented_parameters(depth, extra):
    with torch.device('meta'):
        smallbig = count_parameters(SmallBigResNet(depth=depth))
        c2d = count_parameters(SmallBigResNet(depth=depth, block_types=C2D))
    assert smallbig - c2d == extra


@pytest.mark.parametrize('extra_stages', [(False,) * 4, EXTRA])
@pytest.mark.parametrize('fused', [False, True])
@pytest.mark.parametrize('training', [False, True])
def test_fresh_smallbig_equals_c2d_with_the_same_weights(extra_stages, fused, training):
    # by the reference units and by the default fast path, in eval and in training
    torch.manual_seed(0)
    smallbig = tiny(extra_stages=extra_stages, fast_path=fused).train(training)
    c2d = tiny(block_types=C2D, fast_path=fused).train(training)
    randomize_norms(c2d)
    missing, unexpected = smallbig.load_state_dict(c2d.state_dict(), strict=False)
    assert not unexpected
    assert missing and all('.big' in k or '.extra.' in k for k in missing)
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        assert (smallbig(x) - c2d(x)).abs().max().item() == 0


@pytest.mark.parametrize('frames', [4, 8, 16])
def test_any_number_of_frames(frames):
    model = tiny().eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, frames, 32, 32))
    assert out.shape == (1, 256, frames, 1, 1)


def test_global_temporal_pool_equals_a_pool_built_for_that_length():
    x = torch.randn(2, 4, 8, 6, 6)
    expected = F.max_pool3d(x, (8, 3, 3), stride=1, padding=(0, 1, 1))
    assert torch.equal(BigViewPool((None, 3, 3))(x), expected)


def test_output_is_symmetric_in_time_as_documented():
    model = tiny(extra_stages=EXTRA).eval()
    randomize_norms(model)
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        forward, backward = model(x), model(x.flip(2))
    torch.testing.assert_close(forward, backward.flip(2))


def test_3d_baseline_is_not_symmetric_in_time():
    model = tiny(block_types=THREE_D).eval()
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(x.flip(2)).flip(2))


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(),
        dict(extra_stages=EXTRA),
        dict(shared_big_weights=False),
        dict(block_types=THREE_D),
    ],
)
def test_every_parameter_receives_a_gradient(kwargs):
    model = tiny(**kwargs).train()
    randomize_norms(model)  # zero-initialised big views would block their inputs' gradients
    model(torch.randn(2, 3, 4, 32, 32)).square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_fresh_big_views_still_learn():
    model = tiny().train()
    model(torch.randn(2, 3, 4, 32, 32)).square().mean().backward()
    big = [p for n, p in model.named_parameters() if '.big' in n]
    assert big and all(p.grad is not None and p.grad.abs().sum() > 0 for p in big)


def test_ablation_axes_change_the_structure():
    default = tiny()
    assert default.layer1[0].big1 is None and default.layer2[0].big1 is not None
    only_conv2 = tiny(big_views=(False, True, False))
    block = only_conv2.layer3[0]
    assert block.big1 is None and block.big2 is not None and block.big3 is None
    assert tiny(big_kernels=((1, 3, 3), (5, 5, 5), (None, 1, 1))).layer2[
        0
    ].big2.pool.kernel_size == (5, 5, 5)
    unshared = tiny(shared_big_weights=False).layer2[0]
    assert unshared.big1.conv is not unshared.conv1
    per_block = tiny(block_types=('2d', ('smallbig', '2d'), '2d', 'smallbig'))
    assert per_block.layer2[0].big1 is not None and per_block.layer2[1].big1 is None
    assert isinstance(tiny(extra_stages=EXTRA).layer4[0].extra, ExtraUnit)


def test_base_channels_set_the_width():
    model = tiny(base_channels=4)
    assert model.stage_channels == [16, 32, 64, 128] and model.num_features == 128


def test_forward_stages_returns_the_requested_maps_in_order():
    outs = tiny().forward_stages(torch.randn(1, 3, 4, 64, 64), [3, 0])
    assert [tuple(o.shape) for o in outs] == [(1, 256, 4, 2, 2), (1, 32, 4, 16, 16)]


def test_gradient_checkpointing_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    model = tiny().train()
    randomize_norms(model)
    x = torch.randn(2, 3, 4, 32, 32)
    results = []
    for enable in (False, True):
        model.zero_grad()
        model.set_grad_checkpointing(enable)
        out = model(x)
        out.square().mean().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0])
    for plain, checkpointed in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(plain, checkpointed)


def test_drop_path_is_active_only_in_training():
    model = tiny(drop_path_rate=0.5)
    assert model.layer4[-1].drop_path.drop_prob == pytest.approx(0.5)
    x = torch.randn(2, 3, 4, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    'shape,match',
    [
        ((3, 4, 32, 32), r'\(N, 3, T, H, W\).*unsqueeze'),
        ((1, 4, 3, 32, 32), r'\(N, 3, T, H, W\).*transpose'),
        ((1, 1, 4, 32, 32), r'got \(1, 1, 4, 32, 32\)'),
    ],
)
def test_bad_clip_shapes_raise_a_clear_error(shape, match):
    with pytest.raises(ValueError, match=match):
        tiny()(torch.randn(*shape))


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(depth=34), r'unknown depth 34: use one of \[23, 50, 101\]'),
        (dict(block_types=('2d', 'big', '2d', '2d')), r"unknown block type 'big'"),
        (dict(block_types=('2d', '2d', '2d')), 'one entry per stage'),
        (dict(block_types=('2d', ('2d',), '2d', '2d')), r'res3 has 2 blocks'),
        (dict(extra_stages=(True,)), 'one entry per stage'),
        (dict(big_kernels=((2, 3, 3), (3, 3, 3), (None, 3, 3))), 'odd positive'),
        (dict(big_views=(True, True)), 'one entry per conv'),
        (dict(base_channels=2), 'base_channels'),
        (dict(drop_path_rate=1.0), 'drop_path_rate'),
    ],
)
def test_bad_arguments_raise_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kwargs)


def test_bottleneck_example_shape():
    block = Bottleneck(64, 16, stride=2, block_type='smallbig')
    assert block(torch.randn(2, 64, 8, 14, 14)).shape == (2, 64, 8, 7, 7)


def test_fused_is_the_deprecated_name_of_fast_path():
    with pytest.warns(DeprecationWarning, match='fast_path'):
        old = tiny(fused=False)
    new = tiny(fast_path=False)
    blocks = [(a.fused, b.fused) for sa, sb in zip(old.stages, new.stages) for a, b in zip(sa, sb)]
    assert blocks and all(a is False and b is False for a, b in blocks)
    new.set_fast_path(True)
    assert all(block.fused for stage in new.stages for block in stage)
