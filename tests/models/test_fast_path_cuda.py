"""The fast path against the reference units on CUDA (skipped without a GPU).

On CUDA the fast path keeps cuDNN's convs (the matrix-product 1x1x1 route and the
channels-last pooling copies are for CPUs only) and pools separably. These tests run
each precision and layout a GPU user trains in: fp32 (TF32 off, so the comparison is
tight), bf16 and fp16 autocast, channels-first and channels_last_3d; outputs and
gradients. ``tools/gpu_check.sh`` runs them.
"""

import pytest
import torch

from helpers import randomize_norms, tiny
from smallbig_mm.models.fastpath.frame_conv import is_pointwise
from smallbig_mm.models.fastpath.pooling import channels_last_on_cpu

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')

DTYPES = {
    'fp64': torch.float64,
    'fp32': torch.float32,
    'bf16': torch.bfloat16,
    'fp16': torch.float16,
}
# relative error bounds of outputs and gradients against the reference
OUTPUT_BOUND = {'fp64': 1e-9, 'fp32': 1e-4, 'bf16': 0.03, 'fp16': 0.01}


@pytest.fixture(autouse=True)
def no_tf32():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def pair(training: bool, channels_last: bool, double: bool = False):
    torch.manual_seed(0)
    reference = tiny(fast_path=False)
    randomize_norms(reference)  # live big views
    fast = tiny()
    fast.load_state_dict(reference.state_dict())
    models = []
    for model in (reference, fast):
        model = model.cuda().train(training)
        if double:
            model = model.double()
        if channels_last:
            model = model.to(memory_format=torch.channels_last_3d)
        models.append(model)
    x = torch.randn(
        2, 3, 8, 32, 32, device='cuda', dtype=torch.float64 if double else torch.float32
    )
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    return models, x


def relative(actual: torch.Tensor, expected: torch.Tensor) -> float:
    actual, expected = actual.double(), expected.double()
    return ((actual - expected).norm() / expected.norm().clamp_min(1e-30)).item()


def run(model, x, dtype: str, training: bool):
    autocast = dtype in ('bf16', 'fp16')
    with (
        torch.set_grad_enabled(training),
        torch.autocast(
            'cuda', dtype=DTYPES[dtype] if autocast else torch.float32, enabled=autocast
        ),
    ):
        out = model(x)
    grads = {}
    if training:
        model.zero_grad()
        out.float().square().mean().backward()
        grads = {name: p.grad for name, p in model.named_parameters()}
    return out, grads


def test_cpu_routes_are_not_taken_on_cuda():
    x = torch.randn(2, 8, 4, 5, 5, device='cuda')
    weight = torch.randn(4, 8, 1, 1, 1, device='cuda')
    assert not is_pointwise(x, weight, ((1, 1, 1), (0, 0, 0), (1, 1, 1), 1))
    assert channels_last_on_cpu(x) is x


@pytest.mark.parametrize('dtype', ['fp32', 'bf16', 'fp16'])
@pytest.mark.parametrize('channels_last', [False, True])
def test_inference_matches_the_reference(dtype, channels_last):
    (reference, fast), x = pair(False, channels_last)
    expected, _ = run(reference, x, dtype, False)
    actual, _ = run(fast, x, dtype, False)
    assert actual.dtype == expected.dtype
    assert relative(actual, expected) < OUTPUT_BOUND[dtype]


@pytest.mark.parametrize('channels_last', [False, True])
def test_training_gradients_equal_the_reference_in_float64(channels_last):
    (reference, fast), x = pair(True, channels_last, double=True)
    expected, expected_grads = run(reference, x, 'fp64', True)
    actual, grads = run(fast, x, 'fp64', True)
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-9)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, expected_grads[name], rtol=1e-7, atol=1e-9, msg=name)


@pytest.mark.parametrize('dtype', ['fp32', 'bf16', 'fp16'])
@pytest.mark.parametrize('channels_last', [False, True])
def test_training_matches_the_reference(dtype, channels_last):
    # low precisions: the fast path is about as close to the fp32 gradients as the
    # reference under the same autocast is
    (reference, fast), x = pair(True, channels_last)
    _, exact = run(reference, x, 'fp32', True)
    exact = {name: grad.clone() for name, grad in exact.items()}
    expected, expected_grads = run(reference, x, dtype, True)
    actual, grads = run(fast, x, dtype, True)
    assert actual.dtype == expected.dtype
    assert relative(actual, expected) < OUTPUT_BOUND[dtype] * 10
    for name, grad in grads.items():
        assert grad.dtype == torch.float32, name
        if dtype == 'fp32':
            assert relative(grad, expected_grads[name]) < 1e-3, name
        else:
            assert (
                relative(grad, exact[name])
                <= 2 * relative(expected_grads[name], exact[name]) + 0.02
            ), name
