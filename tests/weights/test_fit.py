"""The one fit check (smallbig_mm.weights.loading) and the reader under
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD."""

import os

import pytest
import torch

from smallbig_mm.models import SmallBigResNet
from smallbig_mm.timm_models.smallbig_timm import SmallBigNet
from smallbig_mm.weights import CheckpointError, load_weights, read_checkpoint
from smallbig_mm.weights.layouts import from_timm_state_dict
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
    assert message.startswith(
        'r50.pth: the checkpoint does not fit the model (Net): '
        'unexpected in the checkpoint (267): layer1.1.conv1.weight'
    )
    assert 'hint: this checkpoint has depth 50 but the model has depth 23' in message


def test_finetune_drops_only_a_head_of_another_class_count():
    source, target = tiny(num_classes=7), tiny(num_classes=5)
    fit = fit_state_dict(
        source.state_dict(), target.state_dict(), 'k7.pth', 'Net', policy='finetune'
    )
    assert torch.equal(fit.state_dict['fc.weight'], target.fc.weight)
    assert torch.equal(fit.state_dict['conv1.weight'], source.conv1.weight)
    assert len(fit.notes()) == 1 and 'classifier was dropped (fc.weight, fc.bias' in fit.notes()[0]
    # the head of another width is not a class-count change: still refused
    with pytest.raises(CheckpointError, match='base_channels differ'):
        fit_state_dict(
            tiny(base_channels=16).state_dict(),
            target.state_dict(),
            'w.pth',
            'Net',
            policy='finetune',
        )


def test_allow_partial_is_the_explicit_opt_in():
    source, target = tiny(num_classes=7), tiny(num_classes=5, seed=1)
    with pytest.raises(CheckpointError, match='7 classes in the checkpoint and 5'):
        load_weights(target, source.state_dict())
    fc_before = target.fc.weight.clone()
    logged = []

    class Logger:
        warning = logged.append

    load_weights(target, source.state_dict(), policy='partial', logger=Logger)
    assert torch.equal(target.fc.weight, fc_before)
    assert torch.equal(target.conv1.weight, source.conv1.weight)
    assert len(logged) == 1 and 'partial load (asked for): skipped shape mismatches' in logged[0]


def test_missing_batch_counters_take_the_models_values():
    state = {k: v for k, v in tiny().state_dict().items() if not k.endswith('num_batches_tracked')}
    assert check_fit(state, tiny().state_dict()).exact


def test_the_timm_and_core_routes_share_the_message(tmp_path):
    import timm

    path = tmp_path / 'r50.pth'
    torch.save(tiny(depth=50).state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        timm.create_model(
            'smallbig_resnet23',
            pretrained=True,
            base_channels=8,
            pretrained_cfg_overlay=dict(file=str(path)),
        )
    assert str(info.value).startswith(
        f'{path}: the checkpoint does not fit the model '
        '(smallbig_resnet23): unexpected in the checkpoint (267)'
    )


class RunsCode:
    """Pickles as a call of ``os.system(command)``: code that runs when unpickled."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize('route', ['read_checkpoint', 'timm', 'load_weights'])
def test_no_route_runs_pickle_code_even_with_force_no_weights_only(tmp_path, route, monkeypatch):
    import timm

    marker, path = tmp_path / 'code-ran', tmp_path / 'evil.pth'
    torch.save(
        {'state_dict': {'conv1.weight': torch.zeros(1)}, 'x': RunsCode(f'touch {marker}')}, path
    )
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')  # read by torch.load each call
    with pytest.raises(CheckpointError, match='refused to load'):
        if route == 'timm':
            timm.create_model(
                'smallbig_resnet23', pretrained=True, pretrained_cfg_overlay=dict(file=str(path))
            )
        elif route == 'load_weights':
            load_weights(SmallBigResNet(depth=23, base_channels=8), str(path), inflate_2d=True)
        else:
            read_checkpoint(str(path))
    assert not marker.exists()


def test_a_tensor_of_another_kind_than_its_slot_is_refused():
    source, target = tiny(), tiny(seed=1)
    state = dict(source.state_dict(), **{'conv1.weight': source.conv1.weight.long()})
    with pytest.raises(CheckpointError) as info:
        load_weights(target, state, source='ints.pth')
    assert str(info.value).startswith(
        'ints.pth: the checkpoint does not fit the model (SmallBigResNetClassifier): tensors of '
        'another kind than their slot (1): conv1.weight: checkpoint torch.int64 vs model '
        'torch.float32'
    )
    state = dict(source.state_dict(), **{'fc.weight': source.fc.weight.half()})  # same kind
    load_weights(target, state)
    assert torch.equal(target.fc.weight, source.fc.weight.half().float())


def test_non_finite_weights_are_refused_under_every_policy():
    state = dict(tiny().state_dict())
    state['layer1.0.conv1.weight'] = state['layer1.0.conv1.weight'].clone()
    state['layer1.0.conv1.weight'][0, 0] = float('inf')
    for policy in ('exact', 'finetune', 'partial'):
        with pytest.raises(CheckpointError, match='1 tensors hold NaN or Inf values'):
            load_weights(tiny(), state, policy=policy)


def test_a_model_without_classifier_drops_and_names_the_checkpoints_in_one_line(caplog):
    import logging

    from smallbig_mm.models import SmallBigResNet

    source = tiny()
    core = SmallBigResNet(depth=23, base_channels=8)
    with caplog.at_level(logging.INFO, logger='smallbig_mm.weights'):
        report = load_weights(
            core, from_timm_state_dict(source.state_dict(), 'mmaction'), source='k.pth'
        )
    assert report.line() == (
        'loaded k.pth into SmallBigResNet: 246 of 246 tensors; the model '
        "has no classifier: dropped the checkpoint's "
        '(cls_head.fc_cls.weight, cls_head.fc_cls.bias)'
    )
    assert [r.getMessage() for r in caplog.records] == [report.line()]
    assert caplog.records[0].levelno == logging.WARNING
    assert torch.equal(core.conv1.weight, source.conv1.weight)
