"""The fast path of a SmallBig unit: same numbers as the reference, fewer passes over memory.

The reference (:meth:`Bottleneck.reference_unit`) computes ``BN_s(W(x)) + BN_b(W(pool(x)))``
as written: a pool, two conv calls, two norms and an add. Here:

* **Eval, BatchNorm**: the big view is pooled one axis at a time
  (:func:`separable_max_pool`, exact), and both norms are folded into the conv. When
  both views have the same length (the 3x3x3 windows), they are stacked on channels and
  one conv with weight ``[a_s * W | a_b * W]`` and bias ``b_s + b_b`` computes the whole unit. The
  conv3 big view (one frame after its global temporal max) is a second, 1/T-sized conv
  broadcast-added over time. The folding is redone at every call (a pass over the
  weights, small beside the activations), so it can never go stale.
* **Training**, or norms that cannot be folded: the reference computation, except that
  the big view's pooling keeps no argmax indices (:func:`big_view_lean`: separable
  forward, indices recomputed in the backward pass). Stacking both views into one conv
  call was measured no faster on CPU and used more memory, so it is not done.

Only plain convs (:data:`FUSABLE_CONVS`) with a temporal kernel and stride of 1 (every
SmallBig conv) are fused; the caller falls back to the reference otherwise, and while
torch.fx traces.
"""
from typing import Optional, Set, Tuple, Type

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.fx._symbolic_trace import is_fx_symbolic_tracing

from .units import BigView

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


def _window3_max(x: Tensor, dim: int) -> Tensor:
    """Max over the window of 3 centred on each position of ``dim`` (borders see 2)."""
    n = x.shape[dim]
    if n == 1:
        return x
    pairs = torch.maximum(x.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1))
    if n == 2:
        return torch.cat([pairs, pairs], dim)
    inner = torch.maximum(pairs.narrow(dim, 0, n - 2), pairs.narrow(dim, 1, n - 2))
    return torch.cat([pairs.narrow(dim, 0, 1), inner, pairs.narrow(dim, n - 2, 1)], dim)


def separable_max_pool(x: Tensor, kernel_size: Tuple[Optional[int], int, int]) -> Tensor:
    """:class:`BigViewPool` computed one axis at a time: the same numbers, ~6x faster on CPUs.

    A window of 2r + 1 (stride 1, borders padded with -inf) is r windows of 3 in a row.
    For inference: autograd would split the gradient among tied maxima, where max
    pooling gives it to one, so training keeps ``F.max_pool3d``.

    Example:
        >>> x = torch.randn(2, 4, 8, 7, 7)
        >>> torch.equal(separable_max_pool(x, (3, 3, 3)), F.max_pool3d(x, 3, 1, 1))
        True
    """
    t, h, w = kernel_size
    if t is None:
        x, t = x.amax(dim=2, keepdim=True), 1
    for dim, size in ((4, w), (3, h), (2, t)):
        for _ in range(size // 2):
            x = _window3_max(x, dim)
    return x


class _PoolKeepingNoIndices(torch.autograd.Function):
    """Big-view pooling for training that stores no argmax indices.

    ``F.max_pool3d`` keeps int64 indices (twice the pooled map's bytes) for the backward
    pass. Here the forward pass pools separably and keeps only the input, which the
    small view's conv keeps anyway; the backward pass recomputes the reference pooling
    and its gradient, so gradients are the reference's exactly.
    """

    @staticmethod
    def forward(ctx, x: Tensor, pool: nn.Module) -> Tensor:
        ctx.save_for_backward(x)
        ctx.pool = pool
        return separable_max_pool(x, pool.kernel_size)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            x = x.detach().requires_grad_()
            (grad_x,) = torch.autograd.grad(ctx.pool(x), x, grad)
        return grad_x, None


def big_view_lean(x: Tensor, conv: nn.Module, big: BigView) -> Tensor:
    """``big(x, conv)`` for training, without keeping pooling indices (same gradients)."""
    return big.project(_PoolKeepingNoIndices.apply(x, big.pool), conv)


def can_fold(norm: nn.Module) -> bool:
    """True for a BatchNorm in eval mode with running statistics and affine parameters."""
    return (isinstance(norm, nn.modules.batchnorm._BatchNorm) and not norm.training
            and norm.running_mean is not None and norm.weight is not None)


def folded_scale_shift(norm: nn.modules.batchnorm._BatchNorm) -> Tuple[Tensor, Tensor]:
    """``(a, b)`` with ``norm(y) == a * y + b`` per channel, in eval mode."""
    scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
    return scale, norm.bias - norm.running_mean * scale


def _per_out_channel(scale: Tensor) -> Tensor:
    return scale.view(-1, 1, 1, 1, 1)


def _conv(x: Tensor, conv: nn.Conv3d, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``conv`` with another weight and bias; a single-frame input runs as a 2D conv
    (the CPU backend has no fast kernel for single-frame 3D convs)."""
    if x.shape[2] == 1:
        out = F.conv2d(x.squeeze(2), weight.squeeze(2), bias, conv.stride[1:],
                       conv.padding[1:], conv.dilation[1:], conv.groups)
        return out.unsqueeze(2)
    return F.conv3d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


def can_fuse(conv: nn.Module) -> bool:
    """True for a plain frame-wise conv (temporal kernel and stride 1, one group), outside
    torch.fx tracing (which would bake the folded running statistics into constants)."""
    return (type(conv) in FUSABLE_CONVS and conv.kernel_size[0] == 1 and conv.stride[0] == 1
            and conv.padding[0] == 0 and conv.groups == 1 and conv.padding_mode == 'zeros'
            and not is_fx_symbolic_tracing())


def fused_conv_norm(x: Tensor, conv: nn.Conv3d, norm: nn.Module) -> Tensor:
    """``norm(conv(x))`` with an eval-mode BatchNorm folded into the conv."""
    scale, shift = folded_scale_shift(norm)
    bias = shift if conv.bias is None else shift + conv.bias * scale
    return _conv(x, conv, conv.weight * _per_out_channel(scale), bias)


def fused_smallbig_unit(x: Tensor, conv: nn.Conv3d, norm: nn.Module, big: BigView) -> Tensor:
    """``norm(conv(x)) + big.bn(conv(big.pool(x)))`` with both norms folded (eval mode).

    Args:
        x: the unit input (N, C, T, H, W).
        conv: the shared frame-wise convolution (no bias).
        norm: the small view's eval-mode BatchNorm (:func:`can_fold`).
        big: the big view: shared weights (``big.conv`` is None), eval-mode BatchNorm.

    Returns:
        The unit output (N, C_out, T, H', W'), equal to the reference within float error.
    """
    pooled = separable_max_pool(x, big.pool.kernel_size)
    same_length = pooled.shape[2] == x.shape[2]
    small_scale, small_shift = folded_scale_shift(norm)
    big_scale, big_shift = folded_scale_shift(big.bn)
    small_weight = conv.weight * _per_out_channel(small_scale)
    big_weight = conv.weight * _per_out_channel(big_scale)
    if same_length:
        weight = torch.cat([small_weight, big_weight], dim=1)
        return _conv(torch.cat([x, pooled], dim=1), conv, weight, small_shift + big_shift)
    return (_conv(x, conv, small_weight, small_shift + big_shift)
            + _conv(pooled, conv, big_weight, None))
