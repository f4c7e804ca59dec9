"""Frame-wise convolutions (temporal kernel 1) by the fastest exact route on the device.

On CPUs, oneDNN's channels-first 1x1x1 ``conv3d`` reaches as little as a third of a
matrix product's MAC/s at ResNet shapes (and its backward a fifth, at res2's), so
there a 1x1x1 conv is computed as batched matrix products, forward and backward; a
single-frame input runs as a 2D conv. Elsewhere these are plain ``F.conv3d`` calls.
"""

import functools
from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

ConvGeometry = Tuple[Tuple[int, ...], Union[str, Tuple[int, ...]], Tuple[int, ...], int]
"""``(stride, padding, dilation, groups)`` of a 3D conv."""

Grads = Tuple[Optional[Tensor], Optional[Tensor]]


DOUBLE_BACKWARD_MESSAGE = (
    'the fast path (fast_path=True) has no double backward (create_graph=True); build the '
    'model with fast_path=False or call model.set_fast_path(False) for gradients of gradients'
)


def first_order_only(backward: Callable) -> Callable:
    """Marks an autograd.Function backward as first-order, failing early with a clear message.

    Wraps a backward already marked ``@once_differentiable``: a backward pass with
    ``create_graph=True`` (grad mode on inside the backward) raises RuntimeError naming
    ``fast_path=False``, instead of a later error naming no way out.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        if torch.is_grad_enabled() and not torch.compiler.is_compiling():
            raise RuntimeError(DOUBLE_BACKWARD_MESSAGE)
        return backward(ctx, *grads)

    return wrapper


def conv_geometry(conv: nn.Conv3d) -> ConvGeometry:
    """The arguments besides weight and bias that ``conv`` passes to ``F.conv3d``."""
    return conv.stride, conv.padding, conv.dilation, conv.groups


def is_pointwise(x: Tensor, weight: Tensor, geometry: ConvGeometry) -> bool:
    """A 1x1x1, stride-1, single-group conv of a non-empty CPU tensor: a matrix product per
    clip."""
    stride, padding, _, groups = geometry
    return (
        x.device.type == 'cpu'
        and weight.shape[2:] == (1, 1, 1)
        and groups == 1
        and tuple(stride) == (1, 1, 1)
        and tuple(padding) == (0, 0, 0)
        and x.numel() > 0
    )


def runs_as_product(x: Tensor, weight: Tensor, geometry: ConvGeometry) -> bool:
    """Whether :func:`frame_conv` computes this conv as a matrix product: pointwise, a
    channels-first input, and no autograd."""
    return is_pointwise(x, weight, geometry) and x.is_contiguous() and not torch.is_grad_enabled()


def _rows(x: Tensor) -> Tensor:
    """(N, C, T, H, W) -> (N, C, THW), a view when ``x`` is contiguous.

    ``flatten``, not ``x.shape[2:].numel()``: the latter turns symbolic sizes into
    ints, pinning T (and H, W) while torch.export or torch.compile traces.
    """
    return x.flatten(2)


def _matrices(weight: Tensor, n: int) -> Tensor:
    """A 1x1x1 weight (C_out, C, 1, 1, 1) as N views of one (C_out, C) matrix.

    ``torch.bmm`` on these returns contiguous outputs, where ``torch.matmul`` with one
    matrix returns a transposed view that every later op would have to copy.
    """
    return weight.view(weight.shape[0], weight.shape[1]).expand(n, -1, -1)


def _pointwise(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``F.conv3d(x, weight, bias)`` for a 1x1x1 ``weight``, as ``weight @ x`` per clip."""
    matrices = _matrices(weight, x.shape[0])
    out = (
        torch.bmm(matrices, _rows(x))
        if bias is None
        else torch.baddbmm(bias.view(1, -1, 1), matrices, _rows(x))
    )
    return out.view(x.shape[0], weight.shape[0], *x.shape[2:])


def add_pointwise_(out: Tensor, x: Tensor, weight: Tensor) -> Tensor:
    """``out += F.conv3d(x, weight)`` for a 1x1x1 ``weight``, accumulated inside the product.

    Computed in ``out``'s dtype (autocast does not cast in-place ops).
    """
    _rows(out).baddbmm_(_matrices(weight.to(out.dtype), x.shape[0]), _rows(x).to(out.dtype))
    return out


def frame_conv(x: Tensor, weight: Tensor, bias: Optional[Tensor], geometry: ConvGeometry) -> Tensor:
    """``F.conv3d(x, weight, bias, *geometry)`` of ``x`` (N, C, T, H, W), by the fastest route.

    For frame-wise convs only: temporal kernel, stride and padding of 1, 1 and 0 (what
    :func:`~.inference.can_fuse` checks). Under autograd a 1x1x1 conv stays a conv
    (:func:`conv_for_training` is the route for training).

    Example:
        >>> conv = nn.Conv3d(8, 4, 1, bias=False)
        >>> x = torch.randn(2, 8, 4, 7, 7)
        >>> with torch.no_grad():
        ...     out = frame_conv(x, conv.weight, None, conv_geometry(conv))
        ...     torch.allclose(out, conv(x), atol=1e-5)
        True
    """
    stride, padding, dilation, groups = geometry
    if runs_as_product(x, weight, geometry):
        return _pointwise(x, weight, bias)
    if x.shape[2] == 1:
        out = F.conv2d(
            x.squeeze(2), weight.squeeze(2), bias, stride[1:], padding[1:], dilation[1:], groups
        )
        return out.unsqueeze(2)
    return F.conv3d(x, weight, bias, stride, padding, dilation, groups)


def _pointwise_backward(grad: Tensor, x: Tensor, weight: Tensor, needs: Tuple[bool, bool]) -> Grads:
    """Gradients of ``F.conv3d(x, weight)`` (1x1x1) by matrix products; ``x`` may be
    channels-first or channels-last, and its gradient has the same layout."""
    n, channels = x.shape[:2]
    grad_rows = _rows(grad)  # (N, C_out, THW)
    matrices = _matrices(weight, n)
    channels_last = not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last_3d)
    grad_x = grad_weight = None
    if needs[0]:
        if channels_last:  # (N, THW, C), then back to (N, C, T, H, W) channels-last
            grad_x = torch.bmm(grad_rows.transpose(1, 2), matrices)
            grad_x = grad_x.view(n, *x.shape[2:], channels).permute(0, 4, 1, 2, 3)
        else:
            grad_x = torch.bmm(matrices.transpose(1, 2), grad_rows).view(x.shape)
    if needs[1]:
        x_rows = (
            x.permute(0, 2, 3, 4, 1).reshape(n, -1, channels)
            if channels_last
            else _rows(x).transpose(1, 2)
        )  # (N, THW, C) views
        # summed over clips in at least float32, as a single product would accumulate
        accumulate = torch.promote_types(grad.dtype, torch.float32)
        grad_weight = torch.bmm(grad_rows, x_rows).sum(0, dtype=accumulate).view(weight.shape)
    return grad_x, grad_weight


def frame_conv_backward(
    grad: Tensor, x: Tensor, weight: Tensor, geometry: ConvGeometry, needs: Tuple[bool, bool]
) -> Grads:
    """Gradients of :func:`frame_conv` (no bias) w.r.t. ``x`` and ``weight``, where needed."""
    if is_pointwise(x, weight, geometry):
        return _pointwise_backward(grad, x, weight, needs)
    stride, padding, dilation, groups = geometry
    mask = [needs[0], needs[1], False]
    if x.shape[2] == 1:
        grad_x, grad_weight, _ = torch.ops.aten.convolution_backward(
            grad.squeeze(2),
            x.squeeze(2),
            weight.squeeze(2),
            None,
            stride[1:],
            padding[1:],
            dilation[1:],
            False,
            [0, 0],
            groups,
            mask,
        )
        return (
            None if grad_x is None else grad_x.unsqueeze(2),
            None if grad_weight is None else grad_weight.unsqueeze(2),
        )
    grad_x, grad_weight, _ = torch.ops.aten.convolution_backward(
        grad, x, weight, None, stride, padding, dilation, False, [0, 0, 0], groups, mask
    )
    return grad_x, grad_weight


class _PointwiseConv(torch.autograd.Function):
    """A bias-free 1x1x1 conv by matrix products, forward and backward (CPU training)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:
        ctx.save_for_backward(x, weight)
        return _pointwise(x, weight, None)

    @staticmethod
    @first_order_only
    @once_differentiable
    def backward(ctx, grad: Tensor) -> Grads:
        x, weight = ctx.saved_tensors
        # under autocast the forward product ran in a lower precision: so does its gradient
        grad_x, grad_weight = _pointwise_backward(
            grad, x.to(grad.dtype), weight.to(grad.dtype), ctx.needs_input_grad
        )
        return (
            None if grad_x is None else grad_x.to(x.dtype),
            None if grad_weight is None else grad_weight.to(weight.dtype),
        )


def conv_for_training(x: Tensor, conv: nn.Conv3d) -> Tensor:
    """``conv(x)`` with autograd; a bias-free 1x1x1 conv on CPUs runs as matrix products.

    ``conv`` must compute plain ``F.conv3d`` (see :func:`~.inference.can_fuse`).

    Example:
        >>> conv = nn.Conv3d(8, 4, 1, bias=False)
        >>> conv_for_training(torch.randn(2, 8, 4, 7, 7, requires_grad=True), conv).shape
        torch.Size([2, 4, 4, 7, 7])
    """
    if conv.bias is None and is_pointwise(x, conv.weight, conv_geometry(conv)):
        return _PointwiseConv.apply(x, conv.weight)
    return conv(x)
