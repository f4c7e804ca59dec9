"""The one fit check (smallbig_mm.weights.loading) and the reader under
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD."""
import os
import subprocess
import sys

import pytest
import torch

from helpers import REPO
from smallbig_mm.timm_models.smallbig_timm import SmallBigNet
from smallbig_mm.weights import CheckpointError, from_timm_state_dict, load_weights
from smallbig_mm.weights.loading import check_fit, fit_state_dict


def tiny(seed: int = 0, **kwargs) -> SmallBigNet:
    """A SmallBig-R23 classifier at width 8 (timm layout, ``fc``)."""
    torch.manual_seed(seed)
    return SmallBigNet(**{'depth': 23, 'base_channels': 8, 'num_classes': 4, **kwargs})


def test_an_exact_fit_converts_the_layout():
    source = tiny(num_classes=3)
    fit = check_fit(from_timm_state_dict(source.state_dict(), 'mmaction'), source.state_dict())
    assert fit.exact and fit.layout == 'mmaction' and fit.model_layout == 'timm'
    assert torch.equal(fit.state_dict['fc.weight'], source.fc.weight)


def test_the_error_is_one_line_with_counts_examples_and_hints():
    with pytest.raises(CheckpointError) as info:
        fit_state_dict(tiny(depth=50).state_dict(), tiny().state_dict(), 'r50.pth', 'Net')
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith('r50.pth: the checkpoint does not fit the model (Net): '
                              'unexpected in the checkpoint (267): layer1.1.conv1.weight')
    assert 'hint: this checkpoint has depth 50 but the model has depth 23' in message


def test_finetune_drops_only_a_head_of_another_class_count():
    source, target = tiny(num_classes=7), tiny(num_classes=5)
    logged = []
    fitted = fit_state_dict(source.state_dict(), target.state_dict(), 'k7.pth', 'Net',
                            finetune=True, log=logged.append)
    assert torch.equal(fitted['fc.weight'], target.fc.weight)
    assert torch.equal(fitted['conv1.weight'], source.conv1.weight)
    assert len(logged) == 1 and 'classifier was dropped (fc.weight, fc.bias' in logged[0]
    # the head of another width is not a class-count change: still refused
    with pytest.raises(CheckpointError, match='base_channels differ'):
        fit_state_dict(tiny(base_channels=16).state_dict(), target.state_dict(), 'w.pth', 'Net',
                       finetune=True)


def test_allow_partial_is_the_explicit_opt_in():
    source, target = tiny(num_classes=7), tiny(num_classes=5, seed=1)
    with pytest.raises(CheckpointError, match='7 classes in the checkpoint and 5'):
        load_weights(target, source.state_dict())
    fc_before = target.fc.weight.clone()
    logged = []

    class Logger:
        warning = logged.append

    load_weights(target, source.state_dict(), allow_partial=True, logger=Logger)
    assert torch.equal(target.fc.weight, fc_before)
    assert torch.equal(target.conv1.weight, source.conv1.weight)
    assert 'partial load (allow_partial=True): loaded' in logged[0]


def test_missing_batch_counters_take_the_models_values():
    state = {k: v for k, v in tiny().state_dict().items() if not k.endswith('num_batches_tracked')}
    assert check_fit(state, tiny().state_dict()).exact


def test_the_timm_and_core_routes_share_the_message(tmp_path):
    import timm
    path = tmp_path / 'r50.pth'
    torch.save(tiny(depth=50).state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        timm.create_model('smallbig_resnet23', pretrained=True, base_channels=8,
                          pretrained_cfg_overlay=dict(file=str(path)))
    assert str(info.value).startswith(f'{path}: the checkpoint does not fit the model '
                                      '(smallbig_resnet23): unexpected in the checkpoint (267)')


@pytest.mark.parametrize('route', ['read_checkpoint', 'timm', 'load_pretrained_2d'])
def test_no_route_runs_pickle_code_even_with_force_no_weights_only(tmp_path, route):
    marker, path = tmp_path / 'code-ran', tmp_path / 'evil.pth'
    script = f'''
import os, torch, sys
class P:
    def __reduce__(self):
        return (os.system, ('touch {marker}',))
torch.save({{'state_dict': {{'conv1.weight': torch.zeros(1)}}, 'x': P()}}, '{path}')
import smallbig_mm
from smallbig_mm.weights import CheckpointError, read_checkpoint, load_pretrained_2d
from smallbig_mm.models import SmallBigResNet
try:
    if '{route}' == 'timm':
        import timm
        timm.create_model('smallbig_resnet23', pretrained=True,
                          pretrained_cfg_overlay=dict(file='{path}'))
    elif '{route}' == 'load_pretrained_2d':
        load_pretrained_2d(SmallBigResNet(depth=23, base_channels=8), '{path}')
    else:
        read_checkpoint('{path}')
except CheckpointError as err:
    print(err)
'''
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1', PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, '-c', script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert 'refused to load' in result.stdout, result.stderr[-2000:]
    assert not marker.exists()
