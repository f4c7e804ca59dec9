"""The native big-view pooling on CUDA (Triton kernels) against the reference units.

Self-contained (torch and smallbig_mm only, no MMEngine or timm), skipped without a CUDA
device, the extension (``python setup.py build_ext --inplace``) or Triton.
``tools/gpu_check.sh`` builds the extension and runs it; without pytest it runs as
``python tests/models/test_native_pooling_cuda.py``.

CUDA's ``max_pool3d`` backward adds with atomics, in no fixed order: with random float32
gradients it differs from itself from run to run (measured on an H200,
docs/benchmarks/h200/triton_exactness.log). So the Triton gradients are compared bitwise
with CUDA's for integer gradients (exact sums in any order), and bitwise with the CPU
reference, which adds in raster order as the Triton kernel does, for random ones.
"""

import itertools
import os

import pytest
import torch

from smallbig_mm.models import BigViewPool, SmallBigResNet
from smallbig_mm.models.fastpath.pooling import pool_with_backward, separable_max_pool
from smallbig_mm.ops import bigview_pool as native

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and native.NATIVE_LOADED and native.TRITON_AVAILABLE),
    reason='needs a CUDA device, Triton and the built extension smallbig_mm._native',
)

KERNELS = [(3, 3, 3), (1, 3, 3), (3, 1, 1), (5, 5, 5), (3, 5, 1), (None, 3, 3), (None, 1, 1)]
DTYPES = [torch.float64, torch.float32, torch.bfloat16, torch.float16]


def reference_gradient(x: torch.Tensor, kernel, grad: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_()
    BigViewPool(kernel)(x).backward(grad)
    return x.grad


def cpu_reference_gradient(x: torch.Tensor, kernel, grad: torch.Tensor) -> torch.Tensor:
    """The reference gradient on the CPU, whose ``max_pool3d`` adds in raster order."""
    return reference_gradient(x.cpu(), kernel, grad.cpu())


@pytest.mark.parametrize('dtype, kernel', list(itertools.product(DTYPES, KERNELS)))
def test_native_route_equals_the_reference_on_cuda(dtype, kernel):
    os.environ['SMALLBIG_MM_NATIVE'] = 'triton'  # opt-in on CUDA
    torch.manual_seed(0)
    assert native.native_route(torch.empty(1, 1, 1, 1, 1, device='cuda', dtype=dtype))
    for frames in range(1, 34):
        x = torch.randint(-3, 3, (2, 3, frames, 9, 10), device='cuda').to(dtype)  # ties
        expected = BigViewPool(kernel)(x)
        assert torch.equal(separable_max_pool(x, kernel), expected), frames
        pooled, backward = pool_with_backward(x, kernel)
        assert torch.equal(pooled, expected), frames
        grad = torch.randint(-3, 3, expected.shape, device='cuda').to(dtype)
        assert torch.equal(backward(grad), reference_gradient(x, kernel, grad)), frames
        if dtype in (torch.float64, torch.float32):  # the order of the roundings
            grad = torch.randn(expected.shape, device='cuda', dtype=dtype)
            assert torch.equal(backward(grad).cpu(), cpu_reference_gradient(x, kernel, grad))


@pytest.mark.parametrize('channels_last', [False, True])
def test_training_is_the_same_on_both_routes_on_cuda(channels_last):
    torch.manual_seed(0)
    model = SmallBigResNet(depth=23, base_channels=8)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm3d):  # live big views
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
    model = model.cuda().double().train()
    x = torch.randn(2, 3, 5, 32, 32, device='cuda', dtype=torch.float64)
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    results = []
    for flag in ('triton', '0'):
        os.environ['SMALLBIG_MM_NATIVE'] = flag
        model.zero_grad()
        out = model(x)
        out = out[-1] if isinstance(out, (tuple, list)) else out
        out.square().mean().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    os.environ.pop('SMALLBIG_MM_NATIVE')
    (out_native, grads_native), (out_pure, grads_pure) = results
    torch.testing.assert_close(out_native, out_pure, rtol=1e-10, atol=1e-12)
    for native_grad, pure_grad in zip(grads_native, grads_pure):
        torch.testing.assert_close(native_grad, pure_grad, rtol=1e-9, atol=1e-11)


if __name__ == '__main__':  # where pytest is not installed
    if not (torch.cuda.is_available() and native.NATIVE_LOADED and native.TRITON_AVAILABLE):
        raise SystemExit(
            f'skipped: CUDA {torch.cuda.is_available()}, extension '
            f'{native.LOAD_ERROR or "loaded"}, Triton {native.TRITON_AVAILABLE}'
        )
    for dtype, kernel in itertools.product(DTYPES, KERNELS):
        test_native_route_equals_the_reference_on_cuda(dtype, kernel)
        print('passed', dtype, kernel, flush=True)
    for channels_last in (False, True):
        test_training_is_the_same_on_both_routes_on_cuda(channels_last)
        print('passed training, channels_last', channels_last, flush=True)
