"""create_with_weights: the one builder of "a timm name + optional weights" (hubconf, apis,
deploy, benchmark): classes from the checkpoint, hub folder arguments, one-line errors."""

import json
import logging
import subprocess
import sys

import pytest
import torch

timm = pytest.importorskip('timm')

from helpers import REPO  # noqa: E402
from smallbig_mm.timm_models.build import UnknownModelError, create_model, create_with_weights  # noqa: E402
from smallbig_mm.utils.errors import UsageError  # noqa: E402
from smallbig_mm.weights import CheckpointError  # noqa: E402
from smallbig_mm.weights.sources import source_config  # noqa: E402

NAME = 'smallbig_resnet23'
TINY = dict(base_channels=4)


@pytest.fixture(scope='module')
def source(tmp_path_factory):
    """A random 2-class tiny model and its checkpoint (MMEngine-style ``state_dict``)."""
    torch.manual_seed(0)
    model = create_model(NAME, num_classes=2, **TINY).eval()
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return model, path


def clip() -> torch.Tensor:
    return torch.randn(1, 3, 2, 32, 32, generator=torch.Generator().manual_seed(1))


def test_num_classes_come_from_the_checkpoint(source):
    model, path = source
    built = create_with_weights(NAME, str(path), **TINY).eval()
    assert built.num_classes == 2
    with torch.no_grad():
        assert torch.equal(built(clip()), model(clip()))
    assert create_with_weights(NAME, path, num_classes=None, **TINY).num_classes == 2


def test_a_hub_folders_model_args_set_the_architecture(source, tmp_path):
    from smallbig_mm.weights import write_hub_folder

    model, path = source
    write_hub_folder(str(path), str(tmp_path / 'hub'))
    for folder in (str(tmp_path / 'hub'), f'local-dir:{tmp_path / "hub"}'):
        assert source_config(folder)['model_args']['base_channels'] == 4
    for weights in (str(tmp_path / 'hub'), f'local-dir:{tmp_path / "hub"}'):
        built = create_with_weights(NAME, weights).eval()  # base_channels=4 from config.json
        with torch.no_grad():
            assert torch.equal(built(clip()), model(clip()))
    with pytest.raises(CheckpointError, match='does not fit'):  # explicit arguments win
        create_with_weights(NAME, str(tmp_path / 'hub'), base_channels=8)
    # a folder made for another architecture is refused, not silently built as that one
    with pytest.raises(UsageError, match='holds a smallbig_resnet23') as info:
        create_with_weights('smallbig_resnet50', str(tmp_path / 'hub'))
    assert '\n' not in str(info.value)


def test_unknown_names_and_arguments_are_one_line_usage_errors(source):
    with pytest.raises(UnknownModelError) as info:
        create_with_weights('smallbig_resnet_nope')
    assert isinstance(info.value, UsageError) and '\n' not in str(info.value)
    assert 'smallbig_resnet23' in str(info.value) and info.value.exit_status == 2
    with pytest.raises(UsageError, match="unexpected keyword argument 'widht'") as info:
        create_with_weights(NAME, source[1], widht=8)
    assert '\n' not in str(info.value)


def test_a_misfit_stops_with_the_fit_checks_one_line(source, tmp_path):
    with pytest.raises(CheckpointError, match='does not fit the model') as info:
        create_with_weights(NAME, source[1], base_channels=8)
    assert '\n' not in str(info.value) and str(source[1]) in str(info.value)
    with pytest.raises(CheckpointError, match='no such file'):
        create_with_weights(NAME, str(tmp_path / 'missing.pth'), **TINY)


def test_fine_tuning_logs_the_dropped_classifier_once(source, caplog):
    with caplog.at_level(logging.INFO):
        tuned = create_with_weights(NAME, source[1], num_classes=3, **TINY)
    assert tuned.num_classes == 3
    drops = [
        r for r in caplog.records if 'classifier was dropped (fc.weight, fc.bias' in r.getMessage()
    ]
    assert len(drops) == 1 and drops[0].levelno == logging.WARNING
    assert torch.equal(tuned.conv1.weight, source[0].conv1.weight)  # the rest is loaded
    with pytest.raises(CheckpointError, match='does not fit'):  # inference: no fresh classifier
        create_with_weights(NAME, source[1], finetune=False, num_classes=3, **TINY)


def test_apis_from_timm_takes_the_checkpoints_classes(source):
    from smallbig_mm.apis import from_timm

    assert from_timm(NAME, str(source[1]), **TINY).num_classes == 2
    with pytest.raises(CheckpointError, match='does not fit'):
        from_timm(NAME, str(source[1]), num_classes=5, **TINY)


def test_the_builder_and_hubconf_import_no_mmengine(tmp_path):
    out = tmp_path / 'probe.json'
    script = (
        f'import json, sys, hubconf\n'
        f'from smallbig_mm.apis import from_timm\n'
        f'model = hubconf.{NAME}(base_channels=4)\n'
        f'json.dump(sorted(m for m in sys.modules if m.split(".")[0] in '
        f'("mmengine", "mmaction", "mmcv")), open({str(out)!r}, "w"))\n'
    )
    with open(tmp_path / 'probe.log', 'w') as log:
        subprocess.run(
            [sys.executable, '-c', script],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=300,
        )
    assert json.loads(out.read_text()) == []
