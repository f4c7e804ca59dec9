"""The native big-view pooling: ``torch.ops.smallbig_mm.bigview_pool`` and its backward.

``bigview_pool(x, window, global_temporal, dtype=None)`` is max pooling of ``x``
(N, C, T, H, W) with stride 1, an odd ``window = [t, h, w]`` and -inf borders; with
``global_temporal`` (and ``t = 1``) the frames are first reduced to their maximum, so the
output has one frame. The output is cast to ``dtype`` (default: ``x``'s).
``bigview_pool_backward(grad, x, window, global_temporal)`` is its gradient w.r.t. ``x``:
each output's gradient goes to the element ``max_pool3d`` picks (the first maximum in
(t, h, w) order), and a global temporal maximum's is split evenly between tied frames, as
``amax``'s backward does. ``bigview_pool_and_backward(grad, x, window, global_temporal,
dtype=None)`` returns both, ``(pooled, grad_x)``, from one pass over ``x`` (a training
step's backward needs both). Outputs and gradients are bitwise those of the pure-PyTorch
route (:mod:`smallbig_mm.models.fastpath.pooling`).

The operators and their CPU kernels live in the optional C++ extension
``smallbig_mm._native`` (``setup.py`` builds it where a compiler is there); this module
adds the CUDA kernels (Triton, :mod:`.triton_kernels`), fake (shape) functions for
torch.compile and autograd. :func:`native_route` says whether a tensor takes this route:
the extension is loaded, ``SMALLBIG_MM_NATIVE`` is not ``0``, and the device and dtype
have a kernel. On CUDA the Triton kernels are opt-in (``SMALLBIG_MM_NATIVE=triton``): on
an H200 they were slower than the pure route (docs/benchmarks.md), so CUDA tensors take
the pure route by default.
"""

import importlib.util
import logging
import os
from typing import List, Optional, Set, Tuple

import torch
from torch import Tensor

_logger = logging.getLogger(__name__)

try:
    from .. import _native  # defines the operators and their CPU kernels
except (ImportError, OSError) as err:  # not built, or built against another torch
    LOAD_ERROR: Optional[str] = f'{type(err).__name__}: {err}'
else:
    LOAD_ERROR = None

NATIVE_LOADED = LOAD_ERROR is None
"""Whether ``smallbig_mm._native`` loaded (the operators exist)."""
NATIVE_THREADED = NATIVE_LOADED and bool(_native.OPENMP)
"""Whether the CPU kernels run on torch's threads (built with OpenMP, as ``setup.py`` does
on Linux); elsewhere they run on one thread."""

TRITON_AVAILABLE = importlib.util.find_spec('triton') is not None
"""Whether the CUDA kernels can run (they are Triton's)."""

KERNEL_DTYPES = {
    'cpu': (torch.float64, torch.float32, torch.bfloat16),
    'cuda': (torch.float64, torch.float32, torch.bfloat16, torch.float16),
}
"""The dtypes each device's kernels take."""

BigKernel = Tuple[Optional[int], int, int]
_logged: Set[Tuple[str, str]] = set()


def native_enabled() -> bool:
    """The extension is loaded and ``SMALLBIG_MM_NATIVE`` is not ``0``."""
    return NATIVE_LOADED and os.environ.get('SMALLBIG_MM_NATIVE', '1') != '0'


def triton_opted_in() -> bool:
    """``SMALLBIG_MM_NATIVE=triton``: CUDA tensors take the (experimental) Triton kernels."""
    return os.environ.get('SMALLBIG_MM_NATIVE') == 'triton'


def route_name(device_type: str) -> str:
    """Which route the big views' pooling takes on ``device_type``, in words (benchmarks,
    logs), e.g. ``'native (C++)'`` or ``'pure PyTorch (SMALLBIG_MM_NATIVE=0)'``."""
    if not NATIVE_LOADED:
        return 'pure PyTorch (smallbig_mm._native not built)'
    if not native_enabled():
        return 'pure PyTorch (SMALLBIG_MM_NATIVE=0)'
    if device_type == 'cpu':
        return 'native (C++)' if NATIVE_THREADED else 'native (C++, one thread: no OpenMP)'
    if device_type == 'cuda':
        if not triton_opted_in():
            return 'pure PyTorch (the Triton kernels are opt-in: SMALLBIG_MM_NATIVE=triton)'
        return 'native (Triton)' if TRITON_AVAILABLE else 'pure PyTorch (triton not installed)'
    return f'pure PyTorch (no kernel for {device_type})'


def native_route(x: Tensor) -> bool:
    """Whether pooling ``x`` takes the native route (logged once per device and route).

    Example:
        >>> native_route(torch.empty(1, 1, 1, 1, 1, device='meta'))
        False
    """
    device = x.device.type
    native = (
        native_enabled()
        and x.dtype in KERNEL_DTYPES.get(device, ())
        and (device == 'cpu' or (device == 'cuda' and TRITON_AVAILABLE and triton_opted_in()))
    )
    key = (
        device,
        route_name(device)
        if native or x.dtype in KERNEL_DTYPES.get(device, ())
        else f'pure PyTorch (no kernel for {x.dtype})',
    )
    if key not in _logged:
        _logged.add(key)
        _logger.debug('big-view pooling on %s: %s route', *key)
    return native


def op_arguments(kernel_size: BigKernel) -> Tuple[List[int], bool]:
    """``(window, global_temporal)`` for the operators, from a big view's ``(t, h, w)``."""
    t, h, w = kernel_size
    return [1 if t is None else t, h, w], t is None


def bigview_pool(x: Tensor, kernel_size: BigKernel, dtype: Optional[torch.dtype] = None) -> Tensor:
    """``big_view_pool(x, kernel_size).to(dtype)`` by the native operator (differentiable).

    With ``dtype=torch.bfloat16`` the CPU kernel rounds each output as it writes it, so
    that an autocast conv reads the map without casting it first.

    Example:
        >>> from smallbig_mm.models.units import big_view_pool
        >>> x = torch.randn(2, 4, 8, 7, 7)
        >>> not NATIVE_LOADED or torch.equal(bigview_pool(x, (3, 3, 3)),
        ...                                  big_view_pool(x, (3, 3, 3)))
        True
    """
    return torch.ops.smallbig_mm.bigview_pool(x, *op_arguments(kernel_size), dtype)


def bigview_pool_backward(grad: Tensor, x: Tensor, kernel_size: BigKernel) -> Tensor:
    """The gradient w.r.t. ``x`` (in x's dtype) of :func:`bigview_pool`, given the output's
    (any floating dtype: a bfloat16 one is widened as the kernel reads it)."""
    return torch.ops.smallbig_mm.bigview_pool_backward(grad, x, *op_arguments(kernel_size))


def bigview_pool_and_backward(
    grad: Tensor, x: Tensor, kernel_size: BigKernel, dtype: Optional[torch.dtype] = None
) -> Tuple[Tensor, Tensor]:
    """``(bigview_pool(x, kernel_size, dtype), bigview_pool_backward(grad, x, kernel_size))``
    in one pass over ``x``: finding the winners for the gradient pools ``x`` anyway.

    Example:
        >>> x = torch.randn(2, 4, 8, 7, 7)
        >>> grad = torch.randn(2, 4, 8, 7, 7)
        >>> not NATIVE_LOADED or all(map(torch.equal, bigview_pool_and_backward(grad, x, (3, 3, 3)),
        ...     (bigview_pool(x, (3, 3, 3)), bigview_pool_backward(grad, x, (3, 3, 3)))))
        True
    """
    return torch.ops.smallbig_mm.bigview_pool_and_backward(
        grad, x, *op_arguments(kernel_size), dtype
    )


def _output_shape(x: Tensor, global_temporal: bool) -> Tuple:
    return (*x.shape[:2], 1 if global_temporal else x.shape[2], *x.shape[3:])


def _register() -> None:
    """Fake functions, autograd and the CUDA kernels of the operators."""

    @torch.library.register_fake('smallbig_mm::bigview_pool')
    def _(
        x: Tensor, window: List[int], global_temporal: bool, dtype: Optional[torch.dtype] = None
    ) -> Tensor:
        return x.new_empty(_output_shape(x, global_temporal), dtype=dtype or x.dtype)

    @torch.library.register_fake('smallbig_mm::bigview_pool_backward')
    def _(grad: Tensor, x: Tensor, window: List[int], global_temporal: bool) -> Tensor:
        return torch.empty_like(x, memory_format=torch.contiguous_format)

    @torch.library.register_fake('smallbig_mm::bigview_pool_and_backward')
    def _(
        grad: Tensor,
        x: Tensor,
        window: List[int],
        global_temporal: bool,
        dtype: Optional[torch.dtype] = None,
    ) -> Tuple[Tensor, Tensor]:
        pooled = x.new_empty(_output_shape(x, global_temporal), dtype=dtype or x.dtype)
        return pooled, torch.empty_like(x, memory_format=torch.contiguous_format)

    def setup_context(ctx, inputs, output) -> None:
        x, ctx.window, ctx.global_temporal = inputs[:3]
        ctx.save_for_backward(x)

    def backward(ctx, grad: Tensor):
        (x,) = ctx.saved_tensors
        grad_x = torch.ops.smallbig_mm.bigview_pool_backward(
            grad, x, ctx.window, ctx.global_temporal
        )
        return grad_x, None, None, None

    torch.library.register_autograd(
        'smallbig_mm::bigview_pool', backward, setup_context=setup_context
    )
    if TRITON_AVAILABLE:

        @torch.library.register_kernel('smallbig_mm::bigview_pool', 'cuda')
        def _(
            x: Tensor,
            window: List[int],
            global_temporal: bool,
            dtype: Optional[torch.dtype] = None,
        ) -> Tensor:
            from .triton_kernels import pool

            return pool(x, window, global_temporal).to(dtype or x.dtype)

        @torch.library.register_kernel('smallbig_mm::bigview_pool_backward', 'cuda')
        def _(grad: Tensor, x: Tensor, window: List[int], global_temporal: bool) -> Tensor:
            from .triton_kernels import pool_backward

            return pool_backward(grad, x, window, global_temporal)

        @torch.library.register_kernel('smallbig_mm::bigview_pool_and_backward', 'cuda')
        def _(
            grad: Tensor,
            x: Tensor,
            window: List[int],
            global_temporal: bool,
            dtype: Optional[torch.dtype] = None,
        ) -> Tuple[Tensor, Tensor]:
            from .triton_kernels import pool, pool_backward

            pooled = pool(x, window, global_temporal).to(dtype or x.dtype)
            return pooled, pool_backward(grad, x, window, global_temporal)


if NATIVE_LOADED:
    _register()
