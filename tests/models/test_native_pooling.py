"""The big views' pooling on both routes: the native operator (C++ on CPUs) and the
pure-PyTorch fallback. Outputs bitwise ``max_pool3d``'s, gradients bitwise the reference
units' (``BigViewPool`` under autograd), on tied and signed inputs, non-cubic windows and
every clip length from 1 to 33; float64, float32 and bfloat16.
"""

import logging
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from helpers import REPO, randomize_norms, tiny
from smallbig_mm.models import BigViewPool
from smallbig_mm.models.fastpath.pooling import (
    pool_and_gradient,
    pool_with_backward,
    separable_max_pool,
)
from smallbig_mm.ops import bigview_pool as native

KERNELS = [
    (3, 3, 3),
    (1, 3, 3),
    (3, 1, 1),
    (5, 5, 5),
    (3, 5, 1),
    (1, 1, 1),
    (None, 3, 3),
    (None, 1, 1),
    (None, 5, 3),
]
DTYPES = [torch.float64, torch.float32, torch.bfloat16]
NOT_BUILT = 'smallbig_mm._native is not built (python setup.py build_ext --inplace)'


@pytest.fixture(params=['native', 'pure'])
def route(request, monkeypatch):
    """Runs a test on the native route (needs the extension) and on the pure route."""
    if request.param == 'native' and not native.NATIVE_LOADED:
        pytest.skip(f'{NOT_BUILT}: {native.LOAD_ERROR}')
    monkeypatch.setenv('SMALLBIG_MM_NATIVE', '1' if request.param == 'native' else '0')
    return request.param


def bits(x: torch.Tensor) -> torch.Tensor:
    """The bit patterns of ``x`` (so that -0.0 and 0.0, or two NaNs, can differ)."""
    return x.contiguous().view(
        {
            torch.float64: torch.int64,
            torch.float32: torch.int32,
            torch.bfloat16: torch.int16,
            torch.float16: torch.int16,
        }[x.dtype]
    )


def tied_signed(shape, dtype: torch.dtype) -> torch.Tensor:
    """Small signed integers: ties in most windows, and -inf borders matter."""
    return torch.randint(-3, 3, shape).to(dtype)


def reference_gradient(x: torch.Tensor, kernel, grad: torch.Tensor) -> torch.Tensor:
    """The gradient of the reference units' pooling (``max_pool3d``, ``amax``) by autograd."""
    x = x.clone().requires_grad_()
    BigViewPool(kernel)(x).backward(grad)
    return x.grad


@pytest.mark.parametrize('kernel', KERNELS)
@pytest.mark.parametrize('dtype', DTYPES)
def test_outputs_and_gradients_are_bitwise_the_reference(route, kernel, dtype):
    torch.manual_seed(0)
    assert native.native_route(torch.empty(1, 1, 1, 1, 1, dtype=dtype)) is (route == 'native')
    for frames in range(1, 34):
        x = tied_signed((2, 3, frames, 5, 6), dtype)
        expected = BigViewPool(kernel)(x)
        assert torch.equal(bits(separable_max_pool(x, kernel)), bits(expected)), frames
        pooled, backward = pool_with_backward(x, kernel)
        assert torch.equal(bits(pooled), bits(expected)), frames
        # signed integer gradients: sums are exact, so any order would pass; random ones
        # (bfloat16 rounds each sum) check the order of additions too
        for grad in (tied_signed(expected.shape, dtype), torch.randn(expected.shape).to(dtype)):
            expected_grad = reference_gradient(x, kernel, grad)
            assert torch.equal(bits(backward(grad).contiguous()), bits(expected_grad)), frames
            # both in one pass (the training path's backward)
            pooled_too, grad_x = pool_and_gradient(x, kernel, grad)
            assert torch.equal(bits(pooled_too), bits(expected)), frames
            assert torch.equal(bits(grad_x.contiguous()), bits(expected_grad)), frames


def same_or_both_nan(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equal, except that a NaN matches any NaN (kernels differ in NaN payloads)."""
    nan = torch.isnan(a)
    return torch.equal(nan, torch.isnan(b)) and torch.equal(bits(a)[~nan], bits(b)[~nan])


@pytest.mark.parametrize('kernel', KERNELS)
@pytest.mark.parametrize('dtype', DTYPES)
def test_special_values_and_wide_planes_match_the_reference(route, kernel, dtype):
    # NaN, infinities and signed zeros in planes wider than a vector register (9 x 37:
    # edges, whole vectors and remainders in each row), where the first maximum and the
    # last NaN decide which element wins and which gets the gradient
    torch.manual_seed(1)
    specials = torch.tensor([float('nan'), float('inf'), -float('inf'), -0.0, 0.0, 1.0]).double()
    if route == 'pure':
        # its backward's channels-last max_pool3d may route a window's gradient to
        # another NaN, or within a window of -inf only (docs/benchmarks.md)
        specials = specials[[1, 3, 4, 5]]
    for frames in (1, 2, 3, 8):
        x = tied_signed((2, 2, frames, 9, 37), torch.float64)
        spots = torch.rand(x.shape) < 0.1
        x[spots] = specials[torch.randint(len(specials), (int(spots.sum()),))]
        x = x.to(dtype)
        # values equal (a tie of -0.0 and 0.0 may keep either: torch.maximum and amax
        # do not take the first), NaN where the reference has NaN
        expected = BigViewPool(kernel)(x)
        pooled = separable_max_pool(x, kernel)
        assert torch.equal(pooled.nan_to_num(7.0), expected.nan_to_num(7.0)), frames
        pooled, backward = pool_with_backward(x, kernel)
        assert torch.equal(pooled.nan_to_num(7.0), expected.nan_to_num(7.0)), frames
        # gradients bitwise: they reach the element max_pool3d picks
        grad = torch.randn(expected.shape).to(dtype)
        expected_grad = reference_gradient(x, kernel, grad)
        assert same_or_both_nan(backward(grad).contiguous(), expected_grad), frames


@pytest.mark.parametrize('kernel', [(3, 3, 3), (1, 3, 3), (None, 3, 3), (1, 1, 1)])
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16, torch.float64])
def test_a_cast_pooled_map_and_a_low_precision_gradient_are_bitwise_the_cast_ones(
    route, kernel, dtype
):
    # autocast: the pooled map goes to a bfloat16 conv and its gradient comes back in
    # bfloat16; casting inside the kernels must give what casting around them gives
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 9, 37)
    pooled, backward = pool_with_backward(x, kernel, dtype)
    expected = BigViewPool(kernel)(x).to(dtype)
    assert pooled.dtype == dtype and torch.equal(bits(pooled), bits(expected))
    assert torch.equal(bits(separable_max_pool(x, kernel, dtype)), bits(expected))
    grad = torch.randn(expected.shape).to(dtype)
    grad_x = backward(grad)
    expected_grad = reference_gradient(x, kernel, grad.to(x.dtype))
    assert grad_x.dtype == x.dtype and torch.equal(bits(grad_x), bits(expected_grad))
    pooled, grad_x = pool_and_gradient(x, kernel, grad, dtype)
    assert torch.equal(bits(pooled), bits(expected))
    assert torch.equal(bits(grad_x), bits(expected_grad))


@pytest.mark.parametrize('kernel', [(3, 3, 3), (None, 3, 3)])
def test_channels_last_and_empty_inputs(route, kernel):
    x = tied_signed((2, 3, 4, 5, 6), torch.float32).contiguous(memory_format=torch.channels_last_3d)
    grad = torch.randn(BigViewPool(kernel)(x).shape)
    pooled, backward = pool_with_backward(x, kernel)
    assert torch.equal(pooled, BigViewPool(kernel)(x))
    assert torch.equal(backward(grad), reference_gradient(x, kernel, grad))
    empty = torch.empty(0, 3, 4, 5, 6)
    assert separable_max_pool(empty, kernel).shape == BigViewPool(kernel)(empty).shape


def test_training_gives_the_same_gradients_on_both_routes(monkeypatch):
    # the pooling is bitwise the same (above); the pure route hands the big view's conv
    # backward a channels-last pooled map, whose sums run in another order: float64
    if not native.NATIVE_LOADED:
        pytest.skip(NOT_BUILT)
    torch.manual_seed(0)
    model = tiny(big_kernels=((3, 3, 3), (1, 3, 3), (None, 3, 3)))
    randomize_norms(model)
    model.double().train()
    x = torch.randn(2, 3, 5, 32, 32, dtype=torch.float64)
    results = []
    for flag in ('1', '0'):
        monkeypatch.setenv('SMALLBIG_MM_NATIVE', flag)
        model.zero_grad()
        out = model(x)
        out.square().mean().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    (out_native, grads_native), (out_pure, grads_pure) = results
    assert torch.equal(out_native, out_pure)
    assert any(grad.abs().sum() > 0 for grad in grads_native)
    for native_grad, pure_grad in zip(grads_native, grads_pure):
        torch.testing.assert_close(native_grad, pure_grad, rtol=1e-10, atol=1e-12)


def test_the_route_is_chosen_per_device_dtype_and_switch(monkeypatch, caplog):
    monkeypatch.setenv('SMALLBIG_MM_NATIVE', '0')
    assert not native.native_route(torch.empty(1, 1, 1, 1, 1))
    assert native.route_name('cpu').startswith('pure PyTorch')
    monkeypatch.setenv('SMALLBIG_MM_NATIVE', '1')
    assert not native.native_route(torch.empty(1, 1, 1, 1, 1, device='meta'))
    assert not native.native_route(torch.empty(1, 1, 1, 1, 1, dtype=torch.float16))
    native._logged.clear()
    with caplog.at_level(logging.DEBUG, logger='smallbig_mm.ops.bigview_pool'):
        assert native.native_route(torch.empty(1, 1, 1, 1, 1)) is native.NATIVE_LOADED
    assert f'big-view pooling on cpu: {native.route_name("cpu")} route' in caplog.text
    assert native.route_name('cpu') == (
        'native (C++)' if native.NATIVE_LOADED else 'pure PyTorch (smallbig_mm._native not built)'
    )


def test_the_cpu_kernels_run_on_torchs_threads():
    # at::parallel_for is OpenMP in ATen's headers: built without -fopenmp, the kernels
    # ran on one thread whatever torch.set_num_threads said (2.4x slower on 2 cores)
    if not native.NATIVE_LOADED:
        pytest.skip(NOT_BUILT)
    assert native.NATIVE_THREADED is sys.platform.startswith('linux')


@pytest.mark.parametrize('global_temporal', [False, True])
def test_the_operators_pass_torch_library_checks(global_temporal):
    # schema, fake (shape) functions for torch.compile, autograd registration
    if not native.NATIVE_LOADED:
        pytest.skip(NOT_BUILT)
    x = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64, requires_grad=True)
    window = [1, 3, 3] if global_temporal else [3, 1, 3]
    torch.library.opcheck(torch.ops.smallbig_mm.bigview_pool.default, (x, window, global_temporal))
    torch.library.opcheck(
        torch.ops.smallbig_mm.bigview_pool.default, (x, window, global_temporal, torch.float32)
    )
    grad = torch.randn(2, 3, 1 if global_temporal else 4, 5, 6, dtype=torch.float64)
    for grad_dtype in (torch.float64, torch.bfloat16):
        torch.library.opcheck(
            torch.ops.smallbig_mm.bigview_pool_backward.default,
            (grad.to(grad_dtype), x.detach(), window, global_temporal),
        )
        torch.library.opcheck(
            torch.ops.smallbig_mm.bigview_pool_and_backward.default,
            (grad.to(grad_dtype), x.detach(), window, global_temporal, torch.bfloat16),
        )


def test_bad_arguments_are_refused():
    if not native.NATIVE_LOADED:
        pytest.skip(NOT_BUILT)
    x = torch.randn(1, 2, 3, 4, 5)
    with pytest.raises(RuntimeError, match='odd'):
        torch.ops.smallbig_mm.bigview_pool(x, [2, 3, 3], False)
    with pytest.raises(RuntimeError, match=r'window \[1, h, w\]'):
        torch.ops.smallbig_mm.bigview_pool(x, [3, 3, 3], True)
    with pytest.raises(RuntimeError, match='no frames'):  # was a segfault
        torch.ops.smallbig_mm.bigview_pool(torch.randn(1, 2, 0, 3, 3), [1, 3, 3], True)
    with pytest.raises(RuntimeError, match='wrong shape'):
        torch.ops.smallbig_mm.bigview_pool_backward(x[:, :, :1], x, [3, 3, 3], False)


TRITON_SCRIPT = textwrap.dedent("""
    import torch
    from smallbig_mm.ops import triton_kernels
    from smallbig_mm.ops.bigview_pool import op_arguments
    torch.manual_seed(0)
    for dtype in (torch.float32, torch.bfloat16):
        for kernel in ((3, 3, 3), (5, 3, 1), (None, 3, 3)):
            for frames in (1, 4):
                x = torch.randint(-3, 3, (2, 2, frames, 5, 4)).to(dtype)
                window, global_temporal = op_arguments(kernel)
                expected = torch.ops.smallbig_mm.bigview_pool(x, window, global_temporal)
                assert torch.equal(triton_kernels.pool(x, window, global_temporal), expected)
                # integer gradients: the interpreter rounds to bfloat16 unlike a GPU, so
                # only exact sums compare (test_native_pooling_cuda.py takes random ones)
                grad = torch.randint(-3, 3, expected.shape).to(dtype)
                assert torch.equal(
                    triton_kernels.pool_backward(grad, x, window, global_temporal),
                    torch.ops.smallbig_mm.bigview_pool_backward(
                        grad, x, window, global_temporal)), (dtype, kernel, frames)
    print('ok')
""")


def test_the_triton_kernels_equal_the_cpu_kernels_in_the_interpreter():
    # the CUDA route's kernels, run on CPU tensors by Triton's interpreter
    pytest.importorskip('triton')
    if not native.NATIVE_LOADED:
        pytest.skip(NOT_BUILT)
    env = dict(os.environ, TRITON_INTERPRET='1', PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, '-c', TRITON_SCRIPT],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip() == 'ok', done.stderr[-3000:]
