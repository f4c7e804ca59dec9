"""Every constant of the architecture, pinned by an independent, hand-written network.

:func:`reference_network` restates the paper's SmallBig-ResNet (Li et al., CVPR 2020,
Sec. 3 and Fig. 2-3) with plain ``F.conv3d`` / ``F.max_pool3d`` / ``F.batch_norm`` and
its own window constants, reading only the weights from the package's model. Changing
any default (a big-view window, the global temporal pool of conv3, where a BN sits,
the extra unit's ratio, the stem) makes the two disagree.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from helpers import randomize_norms, tiny
from smallbig_mm.models import ExtraUnit, SmallBigResNet

# the paper's big-view windows: conv1 and conv2 pool 3x3x3, conv3 pools T x 3 x 3
CONV1_WINDOW = (3, 3, 3)
CONV2_WINDOW = (3, 3, 3)
CONV3_SPATIAL = (3, 3)
EXTRA_RATIO = 4  # the extra unit reduces C to C / 4
EXTRA = (False, True, True, True)


def batch_norm(x: Tensor, norm: nn.BatchNorm3d) -> Tensor:
    """``norm(x)`` by the functional form, in the norm's mode (running statistics untouched)."""
    if norm.training:
        return F.batch_norm(x, None, None, norm.weight, norm.bias, True, 0.0, norm.eps)
    return F.batch_norm(
        x, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
    )


def conv(x: Tensor, module: nn.Conv3d, stride=1, padding=0) -> Tensor:
    return F.conv3d(x, module.weight, None, stride, padding)


def max_pool_same(x: Tensor, window) -> Tensor:
    """Stride-1 max pooling with -inf borders; a temporal window of T gives one frame."""
    t, h, w = window
    t_pad = 0 if t == x.shape[2] else t // 2
    return F.max_pool3d(x, window, stride=1, padding=(t_pad, h // 2, w // 2))


def smallbig_unit(
    x: Tensor,
    small: Tensor,
    conv_module: nn.Conv3d,
    small_norm,
    big_norm,
    window,
    stride=1,
    padding=0,
) -> Tensor:
    """BN_small(W x) + BN_big(W pool(x)), the same W (shared weights)."""
    big = batch_norm(conv(max_pool_same(x, window), conv_module, stride, padding), big_norm)
    return batch_norm(small, small_norm) + big  # a one-frame big view broadcasts over time


def extra_unit(x: Tensor, unit: ExtraUnit) -> Tensor:
    """x + BN(B(A(x) * sigmoid(A(global max of x)))), A: C -> C/4, B: C/4 -> C."""
    assert unit.reduce.weight.shape[:2] == (x.shape[1] // EXTRA_RATIO, x.shape[1])
    assert unit.expand.weight.shape[:2] == (x.shape[1], x.shape[1] // EXTRA_RATIO)
    gate = torch.sigmoid(conv(F.adaptive_max_pool3d(x, 1), unit.reduce))
    return x + batch_norm(conv(conv(x, unit.reduce) * gate, unit.expand), unit.bn)


def bottleneck(x: Tensor, block, smallbig: bool, stride: int) -> Tensor:
    if block.extra is not None:
        x = extra_unit(x, block.extra)
    frames = x.shape[2]
    identity = x
    if block.downsample is not None:
        identity = batch_norm(
            conv(x, block.downsample[0], (1, stride, stride)), block.downsample[1]
        )
    small = conv(x, block.conv1)
    out = (
        smallbig_unit(x, small, block.conv1, block.bn1, block.big1.bn, CONV1_WINDOW)
        if smallbig
        else batch_norm(small, block.bn1)
    ).relu()
    small = conv(out, block.conv2, (1, stride, stride), (0, 1, 1))
    out = (
        smallbig_unit(
            out,
            small,
            block.conv2,
            block.bn2,
            block.big2.bn,
            CONV2_WINDOW,
            (1, stride, stride),
            (0, 1, 1),
        )
        if smallbig
        else batch_norm(small, block.bn2)
    ).relu()
    small = conv(out, block.conv3)
    out = (
        smallbig_unit(out, small, block.conv3, block.bn3, block.big3.bn, (frames,) + CONV3_SPATIAL)
        if smallbig
        else batch_norm(small, block.bn3)
    )
    return (out + identity).relu()


def reference_network(model: SmallBigResNet, x: Tensor) -> Tensor:
    """The paper's network (res2 2D, res3-res5 SmallBig) with ``model``'s weights."""
    x = batch_norm(F.conv3d(x, model.conv1.weight, None, (1, 2, 2), (0, 3, 3)), model.bn1)
    x = F.max_pool3d(x.relu(), (1, 3, 3), (1, 2, 2), (0, 1, 1))
    for stage, blocks in enumerate(model.stages):
        for i, block in enumerate(blocks):
            x = bottleneck(x, block, smallbig=stage > 0, stride=2 if stage > 0 and i == 0 else 1)
    return x


def random_model(fused: bool, **kwargs) -> SmallBigResNet:
    torch.manual_seed(0)
    model = tiny(fast_path=fused, **kwargs).double()
    randomize_norms(model)  # non-zero big views and extra units
    model.double()
    return model


@pytest.mark.parametrize('fused', [False, True])
@pytest.mark.parametrize('training', [False, True])
@pytest.mark.parametrize('extra_stages', [(False,) * 4, EXTRA])
def test_the_network_is_the_papers(fused, training, extra_stages):
    model = random_model(fused, extra_stages=extra_stages).train(training)
    x = torch.randn(2, 3, 4, 64, 64, dtype=torch.double)
    with torch.no_grad():
        expected = reference_network(model, x)
        actual = model(x)
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-9)


def test_the_blocks_per_stage_and_widths_are_resnets():
    expected = {23: (1, 2, 3, 1), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
    for depth, blocks in expected.items():
        with torch.device('meta'):
            model = SmallBigResNet(depth=depth)
        assert tuple(len(stage) for stage in model.stages) == blocks
        assert model.stage_channels == [256, 512, 1024, 2048]
        assert [stage[0].conv1.out_channels for stage in model.stages] == [64, 128, 256, 512]


def test_changing_a_window_is_caught():
    # the hand-written network is sensitive to each window on this input
    model = random_model(False, big_kernels=((1, 3, 3), (3, 3, 3), (None, 3, 3))).eval()
    x = torch.randn(1, 3, 4, 64, 64, dtype=torch.double)
    with torch.no_grad():
        assert not torch.allclose(model(x), reference_network(model, x))
