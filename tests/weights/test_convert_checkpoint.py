"""tools/convert_checkpoint.py: every layout pair, lossless round trips, no overwriting."""

import importlib.util
import os
import subprocess
import sys

import pytest
import torch
from torch import Tensor, nn

from smallbig_mm.models import SmallBigResNet
from smallbig_mm.weights import LAYOUTS, load_weights, read_checkpoint
from smallbig_mm.weights.layouts import from_timm_state_dict

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, 'tools', 'convert_checkpoint.py')
EXTRA = (False, True, True, True)


def _load_tool():
    spec = importlib.util.spec_from_file_location('convert_checkpoint_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert_main = _load_tool().main


class TinyClassifier(SmallBigResNet):
    """The core network plus a classifier ``fc`` (the timm layout)."""

    def __init__(self, num_classes: int = 5, **kwargs) -> None:
        super().__init__(depth=23, base_channels=8, extra_stages=EXTRA, **kwargs)
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(super().forward(x).mean(dim=(2, 3, 4)))


def tiny(seed: int = 0) -> TinyClassifier:
    """A tiny classifier with random norm layers (big views and extra units active)."""
    torch.manual_seed(seed)
    model = TinyClassifier()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm3d):
                module.weight.uniform_(0.25, 0.75)
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.num_batches_tracked.fill_(seed + 7)
    return model.eval()


def clip() -> Tensor:
    return torch.randn(1, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))


def backbone_logits(model: TinyClassifier) -> Tensor:
    with torch.no_grad():
        return SmallBigResNet.forward(model, clip())


def write_reference(path, model: nn.Module) -> None:
    """A checkpoint as the reference code saves it (docs/architecture.md): optimizer state included."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(clip()).sum().backward()
    optimizer.zero_grad()  # keep the weights; the file still carries a real optimizer state
    torch.save(
        {
            'epoch': 42,
            'state_dict': from_timm_state_dict(model.state_dict(), 'reference'),
            'best_metric': 63.25,
            'optimizer': optimizer.state_dict(),
        },
        path,
    )


def write_layout(path, model: nn.Module, layout: str) -> None:
    if layout == 'reference':
        write_reference(path, model)
    else:
        torch.save({'state_dict': from_timm_state_dict(model.state_dict(), layout)}, path)


@pytest.mark.parametrize('source', LAYOUTS)
def test_every_layout_pair_keeps_the_logits(tmp_path, source, capsys):
    model = tiny()
    src = str(tmp_path / f'{source}.pth')
    write_layout(src, model, source)
    for target in LAYOUTS:
        suffix = '.safetensors' if target == 'timm' else '.pth'
        dst = str(tmp_path / f'{source}-to-{target}{suffix}')
        assert convert_main([src, dst, '--to', target]) == 0
        assert f'({target}, ' in capsys.readouterr().out
        fresh = tiny(seed=1)
        if 'mmaction_backbone' in (source, target):  # the output has no classifier
            report = load_weights(fresh, dst, policy='partial')
            assert 'skipped missing in the checkpoint (2): fc.weight, fc.bias' in report.line()
            assert torch.equal(backbone_logits(fresh), backbone_logits(model))
        else:
            load_weights(fresh, dst)
            with torch.no_grad():
                assert torch.equal(fresh(clip()), model(clip()))


@pytest.mark.parametrize(
    'suffixes', [('.pth', '.pth', '.pth'), ('.safetensors', '.pth', '.safetensors')]
)
def test_reference_timm_mmaction_reference_round_trip_is_lossless(tmp_path, suffixes):
    src = str(tmp_path / 'reference.pth')
    write_reference(src, tiny())
    chain = [('timm', suffixes[0]), ('mmaction', suffixes[1]), ('reference', suffixes[2])]
    current = src
    for step, (layout, suffix) in enumerate(chain):
        nxt = str(tmp_path / f'{step}-{layout}{suffix}')
        assert convert_main([current, nxt, '--to', layout]) == 0
        current = nxt
    before, after = read_checkpoint(src).state_dict, read_checkpoint(current).state_dict
    if suffixes[-1] == '.pth':
        assert list(after) == list(before)
    else:  # safetensors files list their tensors sorted by name
        assert sorted(after) == sorted(before)
    for key, value in before.items():
        assert after[key].dtype == value.dtype and torch.equal(after[key], value), key


def test_output_containers(tmp_path, capsys):
    src = str(tmp_path / 'reference.pth')
    write_reference(src, tiny())
    assert convert_main([src, str(tmp_path / 'ref2.pth'), '--to', 'reference']) == 0
    ref = torch.load(tmp_path / 'ref2.pth', weights_only=True)
    assert sorted(ref) == ['best_metric', 'epoch', 'state_dict']
    assert ref['epoch'] == 42 and ref['best_metric'] == 63.25
    assert all(k.startswith('module.') for k in ref['state_dict'])
    assert 'file entries dropped: optimizer' in capsys.readouterr().out

    assert convert_main([src, str(tmp_path / 'mm.pth'), '--to', 'mmaction']) == 0
    mm = torch.load(tmp_path / 'mm.pth', weights_only=True)
    assert sorted(mm) == ['meta', 'state_dict'] and mm['meta']['source_layout'] == 'reference'

    assert convert_main([src, str(tmp_path / 'bb.pth'), '--to', 'mmaction_backbone']) == 0
    out = capsys.readouterr().out
    assert 'dropped keys: module.fc.weight, module.fc.bias' in out
    assert 'parameters: ' in out and 'renamed keys: ' in out


@pytest.mark.mmaction
def test_mmengine_and_timm_read_the_outputs(tmp_path):
    from mmengine.runner import load_checkpoint as mmengine_load_checkpoint
    from timm.models import load_checkpoint as timm_load_checkpoint

    model = tiny()
    src = str(tmp_path / 'reference.pth')
    write_reference(src, model)
    assert convert_main([src, str(tmp_path / 'mm.pth'), '--to', 'mmaction']) == 0
    assert convert_main([src, str(tmp_path / 'timm.pth'), '--to', 'timm']) == 0

    recognizer_like = nn.Module()
    recognizer_like.backbone = tiny(seed=1)
    del recognizer_like.backbone.fc
    recognizer_like.cls_head = nn.Module()
    recognizer_like.cls_head.fc_cls = nn.Linear(model.num_features, 5)
    mmengine_load_checkpoint(recognizer_like, str(tmp_path / 'mm.pth'), strict=True)
    assert torch.equal(recognizer_like.cls_head.fc_cls.weight, model.fc.weight)
    assert torch.equal(
        recognizer_like.backbone.layer2[0].extra.reduce.weight, model.layer2[0].extra.reduce.weight
    )

    fresh = tiny(seed=2)
    timm_load_checkpoint(fresh, str(tmp_path / 'timm.pth'), strict=True)
    with torch.no_grad():
        assert torch.equal(fresh(clip()), model(clip()))


def test_never_overwrites_without_force(tmp_path, capsys):
    src = str(tmp_path / 'reference.pth')
    write_reference(src, tiny())
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'precious')
    assert convert_main([src, str(dst), '--to', 'timm']) == 1
    assert 'refusing to overwrite' in capsys.readouterr().err
    assert dst.read_bytes() == b'precious'
    assert convert_main([src, str(dst), '--to', 'timm', '--force']) == 0
    assert list(read_checkpoint(dst).state_dict)[0] == 'conv1.weight'
    assert sorted(os.listdir(tmp_path)) == ['out.pth', 'reference.pth']


def test_bad_sources_fail_cleanly_without_writing(tmp_path, capsys):
    marker = tmp_path / 'pwned'

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f'touch {marker}',))

    torch.save(
        {'state_dict': {'conv1.weight': torch.zeros(1)}, 'x': RunsCode()}, tmp_path / 'evil.pth'
    )
    torch.save(
        {'conv1.weight': torch.zeros(8, 3, 7, 7), 'fc.weight': torch.zeros(5, 8)},
        tmp_path / 'resnet2d.pth',
    )
    (tmp_path / 'notes.pth').write_text('not a checkpoint')
    expected = {
        'evil.pth': 'refused to load',
        'resnet2d.pth': 'inflate',
        'notes.pth': 'not a PyTorch checkpoint',
    }
    for name, message in expected.items():
        dst = tmp_path / f'{name}.out.pth'
        assert convert_main([str(tmp_path / name), str(dst), '--to', 'timm']) == 1
        err = capsys.readouterr().err
        assert err.startswith(f'error: {tmp_path / name}') and message in err
        assert 'Traceback' not in err and not dst.exists()
    assert not marker.exists()


def test_nan_weights_are_named_as_such_not_as_wrong_model_args(tmp_path, capsys):
    """``--to hf`` of a diverged checkpoint said the model_args did not rebuild the
    network and to fix them with --model-arg; no argument fixes a NaN."""
    model = tiny()
    with torch.no_grad():
        model.layer1[0].conv3.weight.fill_(float('nan'))
    write_layout(tmp_path / 'nan.pth', model, 'mmaction')
    assert convert_main([str(tmp_path / 'nan.pth'), str(tmp_path / 'hub'), '--to', 'hf']) == 1
    err = capsys.readouterr().err
    assert 'hold NaN or Inf values (layer1.0.conv3.weight)' in err
    assert '--model-arg' not in err and not (tmp_path / 'hub').exists()


def test_forced_source_layout(tmp_path, capsys):
    model = tiny()
    bare_reference = {
        k[len('module.') :]: v
        for k, v in from_timm_state_dict(model.state_dict(), 'reference').items()
    }
    torch.save(bare_reference, tmp_path / 'stripped.pth')
    dst = str(tmp_path / 'timm.pth')
    assert (
        convert_main([str(tmp_path / 'stripped.pth'), dst, '--to', 'timm', '--from', 'reference'])
        == 0
    )
    fresh = tiny(seed=1)
    load_weights(fresh, dst)
    with torch.no_grad():
        assert torch.equal(fresh(clip()), model(clip()))


def test_command_line_script(tmp_path):
    src = str(tmp_path / 'reference.pth')
    write_reference(src, tiny())
    dst = str(tmp_path / 'model.safetensors')
    result = subprocess.run(
        [sys.executable, TOOL, src, dst, '--to', 'mmaction'],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f'-> {dst} (mmaction, ' in result.stdout
    assert read_checkpoint(dst).extras['layout'] == 'mmaction'
