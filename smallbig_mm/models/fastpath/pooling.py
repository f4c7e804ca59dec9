"""Max pooling of the big views, fast on CPUs, with exactly the reference's numbers.

PyTorch's CPU ``max_pool3d`` on channels-first maps loops over every window element
without vectorising; for the big views' 3x3x3 windows it costs more than all the
convolutions of the network together. Two exact replacements:

* :func:`separable_max_pool`, for forward passes: a window of 3 along W, then H, then T
  (max is separable; borders see the shorter window, as with -inf padding). 8-29x
  faster than ``max_pool3d`` on SmallBig-R50's maps.
* :func:`pool_with_indices` and :func:`pool_backward`, for the backward pass, which
  needs the reference's argmax: the same kernel, on a channels-last copy on CPUs, where
  it runs 3-6x faster (forward and backward) with the same first-maximum rule.

Where the optional native operator is there (:mod:`smallbig_mm.ops.bigview_pool`: C++ on
CPUs, Triton on CUDA), :func:`separable_max_pool` and :func:`pool_with_backward` take it
instead, with bitwise the same outputs and gradients; otherwise, or with
``SMALLBIG_MM_NATIVE=0``, these pure-PyTorch routes run.
"""

from typing import Callable, List, Optional, Tuple

import torch
from torch import Tensor

from ...ops.bigview_pool import (
    bigview_pool,
    bigview_pool_and_backward,
    bigview_pool_backward,
    native_route,
)

Window = List[int]
"""A frame-wise pooling window ``[t, h, w]`` (odd sizes), after any global temporal max."""


def _window3_max(x: Tensor, dim: int) -> Tensor:
    """Max over the window of 3 centred on each position of ``dim`` (borders see 2).

    Written into one output tensor: two passes over the interior, no concatenation.
    While torch.compile traces, out of place (it cannot trace writes into views).
    """
    n = x.shape[dim]
    if n == 1:
        return x
    if torch.compiler.is_compiling():
        pairs = torch.maximum(x.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1))
        if n == 2:
            return torch.cat([pairs, pairs], dim)
        inner = torch.maximum(pairs.narrow(dim, 0, n - 2), pairs.narrow(dim, 1, n - 2))
        return torch.cat([pairs.narrow(dim, 0, 1), inner, pairs.narrow(dim, n - 2, 1)], dim)
    out = torch.empty_like(x)
    first, last = out.narrow(dim, 0, 1), out.narrow(dim, n - 1, 1)
    torch.maximum(x.narrow(dim, 0, 1), x.narrow(dim, 1, 1), out=first)
    if n == 2:
        last.copy_(first)
        return out
    torch.maximum(x.narrow(dim, n - 2, 1), x.narrow(dim, n - 1, 1), out=last)
    inner = out.narrow(dim, 1, n - 2)
    torch.maximum(x.narrow(dim, 0, n - 2), x.narrow(dim, 1, n - 2), out=inner)
    torch.maximum(inner, x.narrow(dim, 2, n - 2), out=inner)
    return out


def separable_max_pool(
    x: Tensor, kernel_size: Tuple[Optional[int], int, int], dtype: Optional[torch.dtype] = None
) -> Tensor:
    """:func:`~.units.big_view_pool` one axis at a time: the same numbers, faster; cast to
    ``dtype`` (default: ``x``'s), by the native kernel as it writes where it can.

    A window of 2r + 1 (stride 1, borders padded with -inf) is r windows of 3 in a row.
    Not differentiable (it writes into its output); the training path routes
    gradients through the reference pooling instead.

    Example:
        >>> import torch.nn.functional as F
        >>> x = torch.randn(2, 4, 8, 7, 7)
        >>> torch.equal(separable_max_pool(x, (3, 3, 3)), F.max_pool3d(x, 3, 1, 1))
        True
    """
    t, h, w = kernel_size
    if (t is None or (t, h, w) != (1, 1, 1)) and native_route(x):
        return bigview_pool(x, kernel_size, dtype)
    if t is None:
        x, t = x.amax(dim=2, keepdim=True), 1
    for dim, size in ((4, w), (3, h), (2, t)):
        for _ in range(size // 2):
            x = _window3_max(x, dim)
    return x.to(dtype or x.dtype)


def channels_last_on_cpu(x: Tensor) -> Tensor:
    """``x`` as channels-last on CPUs, where ``max_pool3d`` and its backward are 3-6x faster."""
    return x.contiguous(memory_format=torch.channels_last_3d) if x.device.type == 'cpu' else x


def pool_with_indices(frames: Tensor, window: Window) -> Tuple[Tensor, Optional[Tensor]]:
    """The reference max pooling of ``frames`` (N, C, T, H, W) and its argmax indices.

    ``frames`` should come from :func:`channels_last_on_cpu`. A window of ``[1, 1, 1]``
    returns ``frames`` itself and no indices.
    """
    if window == [1, 1, 1]:
        return frames, None
    return torch.ops.aten.max_pool3d_with_indices(
        frames, window, [1, 1, 1], [size // 2 for size in window], [1, 1, 1], False
    )


def pool_backward(
    grad: Tensor, frames: Tensor, window: Window, indices: Optional[Tensor]
) -> Tensor:
    """The gradient w.r.t. ``frames`` of :func:`pool_with_indices`, given the output's."""
    if indices is None:
        return grad
    return torch.ops.aten.max_pool3d_with_indices_backward(
        grad, frames, window, [1, 1, 1], [size // 2 for size in window], [1, 1, 1], False, indices
    )


def pool_with_backward(
    x: Tensor, kernel_size: Tuple[Optional[int], int, int], dtype: Optional[torch.dtype] = None
) -> Tuple[Tensor, Callable[[Tensor], Tensor]]:
    """The big view's pooling of ``x`` again, for a backward pass: the pooled map (cast to
    ``dtype``, default ``x``'s) and a function from its gradient to ``x``'s.

    The gradient goes to the element ``max_pool3d`` picks (its argmax), and that of a
    global temporal maximum (``t=None``) is split evenly between tied frames, as
    ``amax``'s backward does: exactly the reference's gradients. Native route: the
    operator's backward, from ``x`` alone. Pure route: ``max_pool3d`` with its indices,
    on a channels-last copy on CPUs; drop the function once used, to free them.

    Example:
        >>> x = torch.randn(2, 4, 8, 7, 7)
        >>> pooled, backward = pool_with_backward(x, (None, 3, 3))
        >>> pooled.shape, backward(torch.ones_like(pooled)).shape
        (torch.Size([2, 4, 1, 7, 7]), torch.Size([2, 4, 8, 7, 7]))
    """
    t, h, w = kernel_size
    if (t, h, w) == (1, 1, 1):
        return x.to(dtype or x.dtype), lambda grad: grad.to(x.dtype)
    if native_route(x):
        return (
            bigview_pool(x, kernel_size, dtype),
            lambda grad: bigview_pool_backward(grad, x, kernel_size),
        )
    frames = x
    if t is None:  # the global temporal max (one frame)
        frames = temporal_max = x.amax(dim=2, keepdim=True)
    window = [1 if t is None else t, h, w]
    if window != [1, 1, 1]:
        frames = channels_last_on_cpu(frames)
    pooled, indices = pool_with_indices(frames, window)
    pooled = pooled.to(dtype or pooled.dtype)

    def backward(grad: Tensor) -> Tensor:
        grad_x = pool_backward(grad.to(x.dtype), frames, window, indices)
        if t is None:  # as amax's own backward: split evenly between tied maxima
            ties = x == temporal_max  # made here: not held through the caller's work
            grad_x = grad_x / ties.sum(dim=2, keepdim=True) * ties
        return grad_x

    return pooled, backward


def pool_and_gradient(
    x: Tensor,
    kernel_size: Tuple[Optional[int], int, int],
    grad: Tensor,
    dtype: Optional[torch.dtype] = None,
) -> Tuple[Tensor, Tensor]:
    """The big view's pooled map of ``x`` (cast to ``dtype``) and ``x``'s gradient, given
    the pooled map's ``grad``: :func:`pool_with_backward`'s two results, in one pass over
    ``x`` on the native route.

    Example:
        >>> x = torch.randn(2, 4, 8, 7, 7)
        >>> pooled, grad_x = pool_and_gradient(x, (3, 3, 3), torch.ones(2, 4, 8, 7, 7))
        >>> pooled.shape == grad_x.shape == x.shape
        True
    """
    if tuple(kernel_size) != (1, 1, 1) and native_route(x):
        return bigview_pool_and_backward(grad, x, kernel_size, dtype)
    pooled, backward = pool_with_backward(x, kernel_size, dtype)
    return pooled, backward(grad)
