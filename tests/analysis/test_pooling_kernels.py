"""The pooling-kernel candidates that docs/benchmarks.md times are exact, run eagerly here
(the tool compiles them; compiling is left to the tool)."""

import pytest
import torch
import torch.nn.functional as F

from helpers import load_tool

kernels = load_tool('benchmark_pooling_kernels')


def tied_input(seed: int = 0) -> torch.Tensor:
    """Few distinct values (many tied maxima), signed, with a -inf frame: borders matter."""
    x = torch.randint(-2, 3, (2, 3, 5, 6, 7), generator=torch.Generator().manual_seed(seed))
    x = x.double()
    x[0, 0, 0] = float('-inf')
    return x


def reference(x: torch.Tensor, grad: torch.Tensor):
    x = x.clone().requires_grad_()
    pooled = F.max_pool3d(x, 3, 1, 1)
    return pooled.detach(), torch.autograd.grad(pooled, x, grad)[0]


@pytest.mark.parametrize('seed', [0, 1])
def test_the_27_tap_kernel_equals_max_pool3d_forward_and_backward(seed):
    x = tied_input(seed)
    pooled, offset = kernels.taps_forward(x)
    grad = torch.randn_like(pooled)
    expected_pooled, expected_grad = reference(x, grad)
    assert torch.equal(pooled, expected_pooled)
    assert torch.equal(kernels.taps_backward(grad, offset), expected_grad)


@pytest.mark.parametrize('seed', [0, 1])
def test_the_separable_kernel_routes_gradients_to_the_same_elements(seed):
    x = tied_input(seed)
    pooled, winners = kernels.separable_forward(x)
    grad = torch.randn_like(pooled)
    expected_pooled, expected_grad = reference(x, grad)
    assert torch.equal(pooled, expected_pooled)
    got = kernels.separable_backward(grad, winners)
    assert torch.equal(got != 0, expected_grad != 0)  # same destinations
    torch.testing.assert_close(got, expected_grad, rtol=0, atol=1e-12)  # order of additions


def test_the_fast_path_route_and_the_check_agree():
    assert kernels.check_exact(kernels.fast_path_step, 'fast path') == 0.0


def test_an_existing_json_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    out = tmp_path / 'kernels.json'
    out.write_text('{}')
    monkeypatch.setattr(kernels, 'candidates', lambda: pytest.fail('compiled before checking'))
    assert kernels.main(['--json', str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('error:') and 'exists' in err and len(err.splitlines()) == 1
    assert out.read_text() == '{}'


@pytest.mark.parametrize('shape', ['2,256', 'a,b,c,d,e', '2,0,8,56,56'])
def test_a_bad_shape_is_a_usage_error(shape, capsys):
    with pytest.raises(SystemExit) as exit_info:
        kernels.main(['--shapes', shape])
    assert exit_info.value.code == 2 and '--shapes' in capsys.readouterr().err
