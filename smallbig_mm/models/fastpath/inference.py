"""The inference path of a SmallBig unit: BatchNorms folded into the convs, exact pooling.

The reference (:meth:`~.bottleneck.Bottleneck.reference_unit`) computes
``BN_s(W(x)) + BN_b(W(pool(x)))`` as written: a pool, two conv calls, two norms and an
add. With eval-mode BatchNorms and no autograd, :func:`fused_smallbig_unit` pools
separably (:mod:`.pooling`) and folds both norms into the shared conv:
``a_s * W`` with bias ``b_s + b_b`` for the small view and ``a_b * W`` for the big view.

* 1x1x1 convs on CPUs: two matrix products, the big view's accumulating into the small
  view's output (:mod:`.frame_conv`).
* Other convs whose views have the same length: one conv over ``[x, pool(x)]`` stacked
  on channels, with weight ``[a_s * W | a_b * W]``.
* The conv3 big view (one frame after its global temporal max): a 1/T-sized 2D conv,
  broadcast-added over time.

The folding is redone at every call (a pass over the weights, small beside the
activations), so it can never go stale. Only plain convs (:data:`FUSABLE_CONVS`) with a
temporal kernel and stride of 1 (every SmallBig conv) are fused; the caller falls back
to the reference otherwise, and whenever :func:`runs_as_written` says so (tracing,
export, FLOP counting, compiled training steps).
"""

from typing import Set, Tuple, Type, cast

import torch
from torch import Tensor, nn

from ...compat.torch import (
    BatchNormBase,
    dispatch_modes,
    dispatch_stack_depth,
    is_fx_symbolic_tracing,
)
from ..units import BigView
from .frame_conv import add_pointwise_, conv_geometry, frame_conv, runs_as_product
from .pooling import separable_max_pool

FUSABLE_CONVS: Set[Type[nn.Module]] = {nn.Conv3d}
"""Conv classes whose forward is exactly ``F.conv3d`` with their own attributes."""


def register_fusable_conv(conv_class: Type[nn.Module]) -> Type[nn.Module]:
    """Declares a Conv3d subclass that computes plain ``F.conv3d`` (e.g. MMCV's wrapper).

    The fast path calls ``F.conv3d`` with the conv's weight directly, so a class that
    changes its forward (weight standardisation, say) must not be registered.
    """
    if not issubclass(conv_class, nn.Conv3d):
        raise TypeError(f'{conv_class.__name__} is not a torch.nn.Conv3d subclass')
    FUSABLE_CONVS.add(conv_class)
    return conv_class


def can_fold(norm: nn.Module) -> bool:
    """True for a BatchNorm in eval mode with running statistics and affine parameters."""
    return (
        isinstance(norm, BatchNormBase)
        and not norm.training
        and norm.running_mean is not None
        and norm.weight is not None
    )


def folded_scale_shift(norm: nn.Module) -> Tuple[Tensor, Tensor]:
    """``(a, b)`` with ``norm(y) == a * y + b`` per channel, for a norm :func:`can_fold`."""
    weight, bias, mean, var = (
        cast(Tensor, getattr(norm, name))
        for name in ('weight', 'bias', 'running_mean', 'running_var')
    )
    scale = weight * torch.rsqrt(var + cast(float, norm.eps))
    return scale, bias - mean * scale


def _per_out_channel(scale: Tensor) -> Tensor:
    return scale.view(-1, 1, 1, 1, 1)


def is_counting_flops() -> bool:
    """True while a ``torch.utils.flop_counter.FlopCounterMode`` is active.

    The counter is a dispatch mode that counts ops by name; in-place accumulating
    products (``baddbmm_``) are not among them. Never true while torch.compile traces.
    """
    if torch.compiler.is_compiling() or dispatch_stack_depth() == 0:
        return False
    return any(type(mode).__module__ == 'torch.utils.flop_counter' for mode in dispatch_modes())


def runs_as_written() -> bool:
    """True while torch.fx or torch.jit traces, torch.export exports, torch.compile traces a
    training step, or a ``FlopCounterMode`` counts: then the units run as written, without
    the fast path.

    A traced graph would bake the folded running statistics into constants; FLOP counters
    (MMEngine's, which MMAction2's get_flops uses, and PyTorch's) should see the convs and
    norms as written, so that every counter gives the paper's MACs; and an exported graph
    (ONNX, AOTInductor) should hold standard pooling, conv and norm ops that work for any
    clip length and that deployment compilers fuse themselves. A compiled training step
    gets the plain ops too: with the training path it was slower (docs/benchmarks.md), and
    it broke the graph and recompiled per block shape. Compiled inference keeps the fast
    path, which traces without breaks.
    """
    return (
        is_fx_symbolic_tracing()
        or torch.jit.is_tracing()
        or torch.compiler.is_exporting()
        or is_counting_flops()
        or (torch.compiler.is_compiling() and torch.is_grad_enabled())
    )


def can_fuse(conv: nn.Module) -> bool:
    """True for a plain frame-wise conv (temporal kernel and stride 1, one group), unless
    the units run as written (:func:`runs_as_written`)."""
    if type(conv) not in FUSABLE_CONVS:
        return False
    conv3d = cast(nn.Conv3d, conv)
    return (
        conv3d.kernel_size[0] == 1
        and conv3d.stride[0] == 1
        and conv3d.padding[0] == 0
        and conv3d.groups == 1
        and conv3d.padding_mode == 'zeros'
        and not runs_as_written()
    )


def fused_conv_norm(x: Tensor, conv: nn.Conv3d, norm: nn.Module) -> Tensor:
    """``norm(conv(x))`` with an eval-mode BatchNorm folded into the conv."""
    scale, shift = folded_scale_shift(norm)
    bias = shift if conv.bias is None else shift + conv.bias * scale
    return frame_conv(x, conv.weight * _per_out_channel(scale), bias, conv_geometry(conv))


def fused_smallbig_unit(x: Tensor, conv: nn.Conv3d, norm: nn.Module, big: BigView) -> Tensor:
    """``norm(conv(x)) + big.bn(conv(big.pool(x)))`` with both norms folded, for inference.

    Runs under ``torch.no_grad()``: the pooling writes into its outputs, which autograd
    does not follow (training takes :func:`~.training.big_view_lean`).

    Args:
        x: the unit input (N, C, T, H, W).
        conv: the shared frame-wise convolution (no bias).
        norm: the small view's eval-mode BatchNorm (:func:`can_fold`).
        big: the big view: shared weights (``big.conv`` is None), eval-mode BatchNorm.

    Returns:
        The unit output (N, C_out, T, H', W'), equal to the reference within float error.
    """
    pooled = separable_max_pool(x, big.pool.kernel_size)
    geometry = conv_geometry(conv)
    same_length = pooled.shape[2] == x.shape[2]
    small_scale, small_shift = folded_scale_shift(norm)
    big_scale, big_shift = folded_scale_shift(big.bn)
    small_weight = conv.weight * _per_out_channel(small_scale)
    big_weight = conv.weight * _per_out_channel(big_scale)
    bias = small_shift + big_shift
    if same_length and runs_as_product(x, conv.weight, geometry):
        # two matrix products, the second accumulating into the first's output
        return add_pointwise_(frame_conv(x, small_weight, bias, geometry), pooled, big_weight)
    if same_length:  # one conv over both views, stacked on channels
        weight = torch.cat([small_weight, big_weight], dim=1)
        return frame_conv(torch.cat([x, pooled], dim=1), weight, bias, geometry)
    # the single-frame view (global temporal pool) is broadcast over time
    return frame_conv(x, small_weight, bias, geometry).add_(
        frame_conv(pooled, big_weight, None, geometry)
    )
