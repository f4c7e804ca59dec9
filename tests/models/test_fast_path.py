"""The fast path (``fast_path=True``) against the reference units: same outputs, same gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helpers import randomize_norms, tiny
from smallbig_mm.analysis.complexity import count_macs
from smallbig_mm.models import BigView, BigViewPool, Bottleneck
from smallbig_mm.models.fastpath.frame_conv import (
    conv_for_training,
    conv_geometry,
    frame_conv,
    is_pointwise,
)
from smallbig_mm.models.fastpath.inference import can_fuse, is_counting_flops, runs_as_written
from smallbig_mm.models.fastpath.pooling import channels_last_on_cpu, separable_max_pool
from smallbig_mm.models.fastpath.training import big_view_lean

EXTRA = (False, True, True, True)


def tied_integers(*shape: int) -> torch.Tensor:
    """Small non-negative integers in float64: many tied maxima, and exact sums."""
    return torch.randint(0, 3, shape).double()


@pytest.mark.parametrize(
    'kwargs',
    [dict(), dict(extra_stages=EXTRA), dict(big_kernels=((1, 3, 3), (3, 5, 5), (None, 1, 1)))],
)
def test_fast_path_matches_the_reference_in_eval(kwargs):
    torch.manual_seed(0)
    reference = tiny(fast_path=False, **kwargs).eval()
    randomize_norms(reference)
    fast = tiny(**kwargs).eval()
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        expected, actual = reference(x), fast(x)
    assert ((actual - expected).abs().max() / expected.abs().max()).item() < 1e-5


@pytest.mark.parametrize('frozen_norms', [False, True])
def test_fast_path_matches_the_reference_in_training_outputs_and_gradients(frozen_norms):
    # float64, so that the comparison is not dominated by batch-norm amplified rounding;
    # frozen_norms: eval-mode norms under gradients, as MMAction2's norm_eval=True trains
    torch.manual_seed(0)
    reference = tiny(fast_path=False, extra_stages=EXTRA)
    randomize_norms(reference)
    reference.double().train(not frozen_norms)
    fast = tiny(extra_stages=EXTRA).double().train(not frozen_norms)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 8, 32, 32, dtype=torch.double)
    expected, actual = reference(x), fast(x)
    torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-9)
    expected.square().mean().backward()
    actual.square().mean().backward()
    reference_grads = dict(reference.named_parameters())
    for name, param in fast.named_parameters():
        torch.testing.assert_close(
            param.grad, reference_grads[name].grad, rtol=1e-7, atol=1e-9, msg=name
        )
    for name, buffer in fast.named_buffers():  # running statistics are updated alike
        torch.testing.assert_close(buffer, dict(reference.named_buffers())[name], msg=name)


def test_fast_path_can_be_switched_off():
    model = tiny()
    assert all(block.fused for stage in model.stages for block in stage)
    model.set_fused(False)
    assert not any(block.fused for stage in model.stages for block in stage)


@pytest.mark.parametrize(
    'kernel', [(3, 3, 3), (1, 3, 3), (3, 1, 1), (5, 5, 5), (None, 3, 3), (None, 1, 1), (1, 1, 1)]
)
@pytest.mark.parametrize(
    'shape', [(2, 3, 8, 7, 6), (1, 2, 1, 1, 2), (1, 2, 2, 3, 1), (1, 2, 3, 5, 5)]
)
@pytest.mark.parametrize('signed', [False, True])
def test_separable_pool_equals_max_pooling_exactly(kernel, shape, signed):
    x = torch.randn(*shape).round(decimals=1)  # many ties
    if not signed:
        x = x.relu()  # as after a ReLU
    assert torch.equal(separable_max_pool(x, kernel), BigViewPool(kernel)(x))


def zero_padded_pool(x: torch.Tensor, window) -> torch.Tensor:
    """The wrong border rule: stride-1 max pooling of ``x`` padded with zeros."""
    pads = [size // 2 for size in reversed(window) for _ in range(2)]
    return F.max_pool3d(F.pad(x, pads), window, stride=1)


def test_signed_inputs_tell_the_border_rules_apart():
    # the inputs of the pooling tests would catch zero padding in place of -inf
    x = -1 - torch.rand(2, 3, 5, 6, 7)
    assert not torch.equal(zero_padded_pool(x, (3, 3, 3)), BigViewPool((3, 3, 3))(x))
    assert torch.equal(separable_max_pool(x, (3, 3, 3)), BigViewPool((3, 3, 3))(x))


@pytest.mark.parametrize('kernel', [(3, 3, 3), (None, 3, 3), (1, 3, 3), (5, 5, 5), (None, 1, 1)])
@pytest.mark.parametrize('conv_kernel, stride', [(1, 1), ((1, 3, 3), 2)])
@pytest.mark.parametrize('shared', [True, False])
@pytest.mark.parametrize('input_grad, weight_grad', [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize('channels_last', [False, True])
def test_lean_big_view_routes_gradients_exactly_like_max_pooling(
    kernel, conv_kernel, stride, shared, input_grad, weight_grad, channels_last
):
    # ties everywhere: the gradient must go to the same maximum as F.max_pool3d's
    torch.manual_seed(0)
    padding = (0, 1, 1) if conv_kernel != 1 else 0
    conv = nn.Conv3d(
        4, 6, conv_kernel, stride=(1, stride, stride), padding=padding, bias=False
    ).double()
    own = (
        None
        if shared
        else nn.Conv3d(
            4, 6, conv_kernel, stride=(1, stride, stride), padding=padding, bias=False
        ).double()
    )
    for c in filter(None, (conv, own)):
        c.weight.data = tied_integers(*c.weight.shape) - 1
    big = BigView(kernel, nn.Identity(), own)
    weight = big.view_conv(conv).weight
    weight.requires_grad_(weight_grad)
    x = tied_integers(2, 4, 5, 6, 7) - 1  # signed: -inf borders differ from zero padding
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    results = []
    for compute in (lambda v: big(v, conv), lambda v: big_view_lean(v, conv, big)):
        inputs = x.clone().requires_grad_(input_grad)
        out = compute(inputs)
        if not results:
            grad = tied_integers(*out.shape)
        weight.grad = None
        out.backward(grad)
        results.append((out.detach(), inputs.grad, weight.grad))
    for expected, actual in zip(*results):
        assert (actual is None and expected is None) or torch.equal(actual, expected)


def saved_bytes(module: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the distinct tensors autograd keeps for the backward pass of ``module(x)``."""
    storages = {}

    def pack(tensor):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        module(x)
    return sum(storages.values())


def test_training_keeps_neither_pooled_maps_nor_pooling_indices():
    torch.manual_seed(0)
    reference = Bottleneck(32, 8, block_type='smallbig', fused=False).train()
    fast = Bottleneck(32, 8, block_type='smallbig').train()
    x = torch.randn(2, 32, 4, 8, 8, requires_grad=True)
    # the reference keeps the conv1 and conv2 pooled maps (the shapes of their inputs,
    # float32) and their int64 argmax indices: 12 bytes per element
    pooled_elements = x.numel() + x.numel() // 4
    assert saved_bytes(reference, x) - saved_bytes(fast, x) >= 12 * pooled_elements


@pytest.mark.parametrize('training', [False, True])
def test_fast_path_under_bfloat16_autocast_matches_the_reference(training):
    torch.manual_seed(0)
    reference = tiny(fast_path=False).train(training)
    if not training:
        randomize_norms(reference)  # non-zero big views, for the folded inference path
    fast = tiny().train(training)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 4, 32, 32)
    if not training:
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            expected, actual = reference(x).float(), fast(x)
        assert actual.dtype == torch.bfloat16
        assert (actual.float() - expected).abs().max() / expected.abs().max() < 0.02
        return
    grads = []
    for model in (reference, fast):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(x)
        assert out.dtype == torch.bfloat16
        out.float().square().mean().backward()
        grads.append({name: p.grad for name, p in model.named_parameters()})
    for name, grad in grads[1].items():
        assert grad.dtype == torch.float32
        torch.testing.assert_close(grad, grads[0][name], rtol=0.05, atol=1e-3, msg=name)


def test_a_float64_model_under_bfloat16_autocast_trains_as_the_reference():
    # autocast leaves float64 tensors alone: the training path must not hand a float64
    # conv a bfloat16 pooled map ("expected m1 and m2 to have the same dtype")
    torch.manual_seed(0)
    reference = tiny(fast_path=False).double().train()
    fast = tiny().double().train()
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    grads = []
    for model in (reference, fast):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = model(x)
        out.square().mean().backward()
        grads.append([p.grad for p in model.parameters()])
    for fast_grad, reference_grad in zip(grads[1], grads[0]):
        torch.testing.assert_close(fast_grad, reference_grad, rtol=1e-9, atol=1e-12)


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return ((actual - expected).norm() / expected.norm()).item()


@pytest.mark.parametrize('frozen_norms', [False, True])
def test_bfloat16_training_with_live_big_views_is_as_accurate_as_the_reference(frozen_norms):
    # non-zero big-view norms, so the big views' gradient path runs in bfloat16; bfloat16
    # gradients of a tiny randomised net are far (~10-100 %) from float32's, so the fast
    # path must be about as close to the float32 gradients as the reference is
    torch.manual_seed(0)
    reference = tiny(fast_path=False).train(not frozen_norms)
    randomize_norms(reference)
    fast = tiny().train(not frozen_norms)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 4, 32, 32)

    def gradients(model, bf16):
        model.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
        out.float().square().mean().backward()
        return {name: p.grad.clone() for name, p in model.named_parameters()}

    exact = gradients(reference, False)
    expected, actual = gradients(reference, True), gradients(fast, True)
    assert any('.big' in name and grad.abs().sum() > 0 for name, grad in actual.items())
    for name, grad in actual.items():
        assert grad.dtype == torch.float32
        assert (
            relative_error(grad, exact[name])
            <= 2 * relative_error(expected[name], exact[name]) + 0.02
        ), name


@pytest.mark.parametrize(
    'kernel, stride, frames',
    [(1, 1, 4), (1, 1, 1), (1, 2, 4), ((1, 3, 3), 1, 4), ((1, 3, 3), 2, 1)],
)
def test_frame_conv_routes_equal_conv3d(kernel, stride, frames):
    conv = nn.Conv3d(
        6, 5, kernel, stride=(1, stride, stride), padding=0 if kernel == 1 else (0, 1, 1), bias=True
    ).double()
    x = torch.randn(2, 6, frames, 9, 9, dtype=torch.double)
    with torch.no_grad():
        expected = conv(x)
        actual = frame_conv(x, conv.weight, conv.bias, conv_geometry(conv))
    torch.testing.assert_close(actual, expected)
    conv.bias = None
    grads = []
    for compute in (conv, lambda v: conv_for_training(v, conv)):
        inputs = x.clone().requires_grad_()
        conv.weight.grad = None
        out = compute(inputs)
        out.backward(torch.ones_like(out))
        grads.append((out.detach(), inputs.grad, conv.weight.grad))
    for expected, actual in zip(*grads):
        assert actual.is_contiguous()
        torch.testing.assert_close(actual, expected)


@pytest.mark.parametrize('training', [False, True])
def test_empty_batches_run_as_in_the_reference(training):
    reference = Bottleneck(16, 4, block_type='smallbig', fused=False).train(training)
    fast = Bottleneck(16, 4, block_type='smallbig').train(training)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(0, 16, 4, 6, 6, requires_grad=training)
    with torch.set_grad_enabled(training):
        expected, actual = reference(x), fast(x)
    assert actual.shape == expected.shape == (0, 16, 4, 6, 6)
    if training:
        actual.sum().backward()
        assert x.grad.shape == x.shape


@pytest.mark.mmaction
def test_flop_counters_see_the_same_convolutions_as_in_the_reference():
    # MMEngine's FlopAnalyzer (MMAction2's get_flops) traces the model with torch.jit
    from mmengine.analysis import FlopAnalyzer

    x = torch.randn(1, 3, 4, 32, 32)
    flops = [FlopAnalyzer(tiny(fast_path=fused).eval(), (x,)).total() for fused in (False, True)]
    assert flops[1] == flops[0] > 0


def pytorch_flops(model: nn.Module, x: torch.Tensor, train: bool) -> int:
    """FLOPs counted by ``torch.utils.flop_counter`` for a forward (and backward) pass."""
    counter = FlopCounterMode(display=False)
    with counter, torch.set_grad_enabled(train):
        out = model(x)
        if train:
            out.square().mean().backward()
    return counter.get_total_flops()


@pytest.mark.parametrize('train', [False, True])
def test_pytorch_flop_counter_sees_the_reference_macs_on_the_fast_path(train):
    # the in-place accumulating products of the inference path are invisible to the
    # counter: under it, the default model runs the units as written
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 32, 32)
    counts = []
    for fused in (False, True):
        model = tiny(fast_path=fused).train(train)
        randomize_norms(model)
        counts.append(pytorch_flops(model, x, train))
    assert counts[1] == counts[0] > 0
    if not train:
        assert counts[1] // 2 == count_macs(tiny, tuple(x.shape))


def test_the_fast_path_still_runs_after_counting():
    model = tiny().eval()
    randomize_norms(model)
    pytorch_flops(model, torch.randn(1, 3, 4, 32, 32), False)
    block = model.layer2[0]
    assert can_fuse(block.conv1) and not is_counting_flops()
    with FlopCounterMode(display=False):
        assert is_counting_flops() and not can_fuse(block.conv1)


def test_the_fast_path_compiles_without_graph_breaks():
    explain = torch._dynamo.explain(Bottleneck(16, 4, block_type='smallbig').eval())
    with torch.no_grad():
        assert explain(torch.randn(1, 16, 4, 6, 6)).graph_break_count == 0


def test_a_compiled_training_step_runs_the_units_as_written_without_graph_breaks():
    explain = torch._dynamo.explain(Bottleneck(16, 4, block_type='smallbig').train())
    assert explain(torch.randn(2, 16, 4, 6, 6, requires_grad=True)).graph_break_count == 0
    assert not runs_as_written()  # eager training keeps the fast path


def gradient_penalty(model: nn.Module) -> torch.Tensor:
    """A double backward: the gradient of the input gradient's norm."""
    x = torch.randn(2, 3, 4, 32, 32, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x).square().mean(), x, create_graph=True)
    grad.square().sum().backward()
    return model.conv1.weight.grad


def test_double_backward_runs_with_the_reference_units():
    model = tiny(fast_path=False).train()
    randomize_norms(model)
    assert gradient_penalty(model).abs().sum() > 0


def test_double_backward_on_the_fast_path_names_the_way_out():
    model = tiny().train()
    randomize_norms(model)
    with pytest.raises(RuntimeError, match=r'fast_path=False'):
        gradient_penalty(model)


def test_cpu_only_routes_are_chosen_per_device():
    # the matrix-product 1x1x1 conv and the channels-last pooling copies are for CPUs;
    # any other device (meta here, CUDA in test_fast_path_cuda.py) keeps conv3d's route
    geometry = ((1, 1, 1), (0, 0, 0), (1, 1, 1), 1)
    for device, expected in (('cpu', True), ('meta', False)):
        x = torch.empty(2, 8, 4, 5, 5, device=device)
        weight = torch.empty(4, 8, 1, 1, 1, device=device)
        assert is_pointwise(x, weight, geometry) is expected
        assert (channels_last_on_cpu(x) is x) is not expected
