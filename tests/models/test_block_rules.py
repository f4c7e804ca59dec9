"""Rules of the block a developer could break without test_architecture.py noticing:
stochastic depth, the extra unit before the shortcut, and non-square big-view windows
(fast path against the reference units, values and gradients, on signed inputs)."""

import copy

import pytest
import torch
from torch import nn

from helpers import randomize_norms
from smallbig_mm.models import BigView, Bottleneck, DropPath, SmallBigResNet
from smallbig_mm.models.fastpath.training import big_view_lean

NON_SQUARE = [(3, 5, 3), (1, 3, 5), (None, 5, 3), (3, 1, 5), (5, 3, 1)]


def signed(*shape: int) -> torch.Tensor:
    """Inputs of both signs in float64: a zero-padded pool differs from a -inf padded one."""
    return torch.randn(*shape, dtype=torch.float64)


# -- stochastic depth ------------------------------------------------------------------
def test_drop_path_drops_whole_samples_and_rescales_the_others():
    torch.manual_seed(0)
    drop = DropPath(0.25).train()
    x = torch.rand(4000, 3, 2, 2, 2) + 0.5  # positive: a kept sample is never all zero
    out = drop(x)
    dropped = (out == 0).flatten(1).all(dim=1)
    kept = ~dropped
    assert ((out != 0).flatten(1).all(dim=1) | dropped).all()  # all or nothing per sample
    assert 0.22 < dropped.float().mean() < 0.28
    assert torch.allclose(out[kept], x[kept] / 0.75)
    assert abs(out.mean() / x.mean() - 1) < 0.03  # the expectation is kept


def test_drop_path_is_the_identity_in_eval_and_at_zero():
    x = torch.randn(8, 3, 2, 2, 2)
    assert torch.equal(DropPath(0.5).eval()(x), x)
    assert torch.equal(DropPath(0.0).train()(x), x)


@pytest.mark.parametrize('fast_path', [True, False])
def test_the_block_drops_its_residual_branch_per_sample_in_training(fast_path):
    torch.manual_seed(0)
    block = Bottleneck(32, 8, block_type='smallbig', drop_path=0.5, fused=fast_path)
    randomize_norms(block)
    block.double()
    whole = copy.deepcopy(block)
    whole.drop_path = nn.Identity()
    branches = []
    whole.drop_path.register_forward_hook(
        lambda module, args, out: branches.append(args[0].clone())
    )
    x = signed(64, 32, 2, 3, 3)
    block.train(), whole.train()
    with torch.no_grad():
        out = block(x)
        whole(x)
    dropped = (out == torch.relu(x)).flatten(1).all(dim=1)
    assert 10 < dropped.sum() < 54  # about half of 64
    expected = torch.relu(x + branches[0] / 0.5)
    torch.testing.assert_close(out[~dropped], expected[~dropped])
    block.eval(), whole.eval()
    with torch.no_grad():
        assert torch.equal(block(x), whole(x))


def test_stochastic_depth_rises_linearly_over_the_blocks():
    model = SmallBigResNet(depth=23, base_channels=4, drop_path_rate=0.3)
    rates = [
        getattr(block.drop_path, 'drop_prob', 0.0) for stage in model.stages for block in stage
    ]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.3)
    assert rates == pytest.approx([0.3 * i / (len(rates) - 1) for i in range(len(rates))])


# -- the extra unit comes before the shortcut -----------------------------------------
@pytest.mark.parametrize('fast_path', [True, False])
@pytest.mark.parametrize('training', [False, True])
def test_the_shortcut_adds_the_extra_units_output(fast_path, training):
    """With the branch silenced (bn3 = 0), a block without downsample gives relu(extra(x))."""
    torch.manual_seed(0)
    block = Bottleneck(32, 8, block_type='smallbig', with_extra=True, fused=fast_path)
    randomize_norms(block)
    block.double()
    for norm in (block.bn3, block.big3.bn):  # the last unit, both views, silenced
        nn.init.zeros_(norm.weight), nn.init.zeros_(norm.bias)
    block.train(training)
    x = signed(2, 32, 3, 5, 4)
    with torch.no_grad():
        extra = block.extra(x)
        out = block(x)
    assert not torch.allclose(extra, x)  # the extra unit changes its input
    torch.testing.assert_close(out, torch.relu(extra))


@pytest.mark.parametrize('fast_path', [True, False])
def test_the_downsample_shortcut_sees_the_extra_units_output(fast_path):
    torch.manual_seed(0)
    block = Bottleneck(
        16, 8, stride=2, block_type='smallbig', with_extra=True, fused=fast_path
    ).eval()
    randomize_norms(block)
    block.double()
    for norm in (block.bn3, block.big3.bn):  # the last unit, both views, silenced
        nn.init.zeros_(norm.weight), nn.init.zeros_(norm.bias)
    x = signed(2, 16, 3, 6, 6)
    with torch.no_grad():
        expected = torch.relu(block.downsample(block.extra(x)))
        torch.testing.assert_close(block(x), expected)  # folded norms: float rounding


# -- non-square windows: the fast path equals the reference, values and gradients ----
@pytest.mark.parametrize('kernel', NON_SQUARE)
@pytest.mark.parametrize('shared', [True, False])
@pytest.mark.parametrize('channels_last', [False, True])
def test_lean_big_view_gradients_with_non_square_windows(kernel, shared, channels_last):
    torch.manual_seed(0)
    conv = nn.Conv3d(4, 6, 1, bias=False).double()
    own = None if shared else nn.Conv3d(4, 6, 1, bias=False).double()
    big = BigView(kernel, nn.Identity(), own)
    weight = big.view_conv(conv).weight
    x = signed(2, 4, 5, 6, 9)  # H != W, so a swapped axis cannot pass
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    results = []
    for compute in (lambda v: big(v, conv), lambda v: big_view_lean(v, conv, big)):
        inputs = x.clone().requires_grad_(True)
        out = compute(inputs)
        grad = torch.arange(out.numel(), dtype=out.dtype).reshape(out.shape).sin()
        weight.grad = None
        out.backward(grad)
        results.append((out.detach(), inputs.grad, weight.grad.clone()))
    for expected, actual in zip(*results):
        torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    'kernels', [((3, 5, 3), (1, 3, 5), (None, 5, 3)), ((1, 5, 3), (3, 3, 5), (None, 3, 5))]
)
@pytest.mark.parametrize('training', [False, True])
def test_a_block_with_non_square_windows_matches_the_reference(kernels, training):
    torch.manual_seed(0)
    fast = Bottleneck(16, 4, block_type='smallbig', big_kernels=kernels, fused=True)
    randomize_norms(fast)
    fast.double()
    reference = copy.deepcopy(fast)
    reference.fused = False
    fast.train(training), reference.train(training)
    x = signed(2, 16, 4, 7, 10)
    outputs = []
    for block in (reference, fast):
        inputs = x.clone().requires_grad_(True)
        out = block(inputs)
        out.backward(torch.cos(out.detach()))
        outputs.append(
            (
                out.detach(),
                inputs.grad,
                [p.grad.clone() for p in block.parameters() if p.grad is not None],
            )
        )
        block.zero_grad()
    (ref_out, ref_grad, ref_params), (out, grad, params) = outputs
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(grad, ref_grad)
    for actual, expected in zip(params, ref_params):
        torch.testing.assert_close(actual, expected)
