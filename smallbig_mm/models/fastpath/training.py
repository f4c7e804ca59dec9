"""The training path of a SmallBig unit: the reference's gradients, less memory and time.

The reference (:meth:`~.bottleneck.Bottleneck.reference_unit`) keeps, for each big view,
the pooled map (for its conv's weight gradient) and the pooling's int64 argmax indices
(twice the map's bytes). :func:`big_view_lean` keeps neither: only the unit input,
which the small view's conv keeps anyway. Its backward pass pools again and routes the
gradient through the pooling, so gradients are exactly the reference's: on the native
route one pass over ``x`` gives the pooled map and ``x``'s gradient
(:func:`~.pooling.pool_and_gradient`); on the pure route ``max_pool3d`` on a
channels-last copy gives the map and its indices (:func:`~.pooling.pool_with_backward`).

Stacking both views into one conv call was measured no faster on CPU and kept more
memory (the stacked input), so it is not done.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from ...ops.bigview_pool import native_route
from ..units import BigKernel, BigView
from .frame_conv import (
    ConvGeometry,
    conv_geometry,
    first_order_only,
    frame_conv,
    frame_conv_backward,
)
from .inference import can_fuse
from .pooling import pool_and_gradient, pool_with_backward, separable_max_pool


def autocast_dtype(x: Tensor) -> Optional[torch.dtype]:
    """The dtype autocast gives a conv of ``x``, or None where it leaves ``x`` as it is
    (autocast off, or float64, which autocast does not cast)."""
    device = x.device.type
    if not torch.is_autocast_enabled(device) or x.dtype == torch.float64:
        return None
    return torch.get_autocast_dtype(device)


class _PooledConv(torch.autograd.Function):
    """``conv(big_view_pool(x))`` (bias-free conv) keeping only ``x`` and the weight."""

    @staticmethod
    def forward(
        ctx, x: Tensor, weight: Tensor, geometry: ConvGeometry, kernel_size: BigKernel
    ) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.geometry, ctx.kernel_size = geometry, kernel_size
        pooled = separable_max_pool(x, kernel_size, autocast_dtype(x))
        return frame_conv(pooled, weight, None, geometry)

    @staticmethod
    @first_order_only
    @once_differentiable
    def backward(ctx, grad: Tensor) -> Tuple[Optional[Tensor], Optional[Tensor], None, None]:
        x, weight = ctx.saved_tensors
        x = x.detach()
        needs_x, needs_weight = ctx.needs_input_grad[:2]
        # under autocast the forward conv ran in a lower precision: so does its gradient
        weight_dtype, weight = weight.dtype, weight.to(grad.dtype)
        grad_x = None
        # the pooling again, for this step only, with the way back to x's gradient
        if needs_x and native_route(x):
            # one pass over x for both the map and x's gradient: after the conv's input
            # gradient, which needs only the map's shape (as torch.nn.grad.conv3d_input)
            frames = 1 if ctx.kernel_size[0] is None else x.shape[2]
            shape_only = grad.new_empty(1).expand(*x.shape[:2], frames, *x.shape[3:])
            grad_pooled, _ = frame_conv_backward(
                grad, shape_only, weight, ctx.geometry, (True, False)
            )
            assert grad_pooled is not None  # asked for
            pooled, grad_x = pool_and_gradient(x, ctx.kernel_size, grad_pooled, grad.dtype)
            del grad_pooled
            grad_weight = None
            if needs_weight:
                grad_weight = frame_conv_backward(
                    grad, pooled, weight, ctx.geometry, (False, True)
                )[1]
        else:  # the pure route: max_pool3d's indices, freed with pool_gradient
            pooled, pool_gradient = pool_with_backward(x, ctx.kernel_size, grad.dtype)
            grad_pooled, grad_weight = frame_conv_backward(
                grad, pooled, weight, ctx.geometry, (needs_x, needs_weight)
            )
            del pooled
            if needs_x:
                assert grad_pooled is not None  # asked for with needs_x
                grad_x = pool_gradient(grad_pooled)
            del pool_gradient, grad_pooled
        if grad_x is not None:
            grad_x = grad_x.contiguous()
        if grad_weight is not None:
            grad_weight = grad_weight.to(weight_dtype).contiguous()
        return grad_x, grad_weight, None, None


def big_view_lean(x: Tensor, conv: nn.Module, big: BigView) -> Tensor:
    """``big(x, conv)`` without keeping the pooled map or pooling indices (same gradients).

    Args:
        x: the unit input (N, C, T, H, W).
        conv: the small view's conv; the big view uses it unless it has its own
            (:meth:`BigView.view_conv`). A view conv that is not fusable
            (:func:`~.inference.can_fuse`) or has a bias runs as ``big(x, conv)``.
        big: the big view.

    Returns:
        ``big.bn(conv(big.pool(x)))``, (N, C_out, T or 1, H', W').

    Example:
        >>> conv = nn.Conv3d(4, 8, 1, bias=False)
        >>> big = BigView((3, 3, 3), nn.BatchNorm3d(8))
        >>> x = torch.randn(2, 4, 8, 7, 7, requires_grad=True)
        >>> big_view_lean(x, conv, big).shape
        torch.Size([2, 8, 8, 7, 7])
    """
    view_conv = big.view_conv(conv)
    if not can_fuse(view_conv) or view_conv.bias is not None:
        return big(x, conv)
    pooled_conv = _PooledConv.apply(
        x, view_conv.weight, conv_geometry(view_conv), big.pool.kernel_size
    )
    return big.bn(pooled_conv)
