"""Each stack patch acts where its defect is present and nowhere else, once."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.dist import utils as dist_utils
from mmengine.logging import HistoryBuffer
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import runner as runner_module

from helpers import REPO, free_port
from smallbig_mm.mmaction import APPLIED_PATCHES, patches
from smallbig_mm.mmaction.patches import (
    bf16_head,
    checkpoint_fit,
    cpu_amp,
    editable_installs,
    missing_drn,
    mmengine_checkpoints,
)
from smallbig_mm.weights import CheckpointError, read_raw_checkpoint
from smallbig_mm.weights.allowlist import checkpoint_globals

# (module, owner, attribute) that each patch replaces
TARGETS = {
    'cpu_distributed': [
        (dist_utils, '_init_dist_pytorch'),
        (MMDistributedDataParallel, '__init__'),
    ],
    'cpu_amp': [(AmpOptimWrapper, '__init__')],
    'atomic_checkpoints': [(runner_module, 'save_checkpoint')],
    'checkpoint_fit': list(checkpoint_fit._TARGETS),
}


def unpatch(monkeypatch, owner, name: str) -> object:
    """Puts the unpatched callable back for this test; returns it."""
    current = getattr(owner, name)
    while hasattr(current, '__wrapped__') and (
        getattr(current, '__smallbig_patch__', False)
        or getattr(current, '__smallbig_bf16_trigger__', False)
    ):
        current = current.__wrapped__
    monkeypatch.setattr(owner, name, current)
    return current


def test_every_patch_names_its_issue_or_says_it_is_added():
    for module in (*patches.STACK_FIXES, patches.new_logger_callback, patches.editable_installs):
        assert module.ISSUE.startswith(('open-mmlab/', 'none upstream', 'mmengine ')), module


def test_import_applies_the_fixes_whose_defect_is_present():
    present = [patches.patch_name(fix) for fix in patches.STACK_FIXES]
    assert APPLIED_PATCHES == [name for name in present if getattr(patches, name).is_applied()]
    # on this stack (mmaction2 1.2.0 wheel, torch >= 2.6, numpy without bfloat16):
    for name in (
        'missing_drn',
        'mmengine_checkpoints',
        'checkpoint_fit',
        'bf16_head',
        'atomic_checkpoints',
    ):
        assert name in APPLIED_PATCHES
    assert ('cpu_distributed' in APPLIED_PATCHES) == (not torch.cuda.is_available())
    assert ('cpu_amp' in APPLIED_PATCHES) == (not cpu_amp.has_accelerator())


@pytest.mark.parametrize('fix', patches.STACK_FIXES, ids=patches.patch_name)
def test_a_second_apply_changes_nothing(fix):
    before = {
        key: getattr(owner, name) for key, targets in TARGETS.items() for owner, name in targets
    }
    modules = dict(sys.modules)
    assert fix.apply() is False
    assert before == {
        key: getattr(owner, name) for key, targets in TARGETS.items() for owner, name in targets
    }
    assert dict(sys.modules).keys() == modules.keys()


@pytest.mark.parametrize('name', sorted(TARGETS))
def test_no_op_where_the_defect_is_absent(monkeypatch, name):
    module = getattr(patches, name)
    originals = [unpatch(monkeypatch, owner, attr) for owner, attr in TARGETS[name]]
    assert module.defect_present()  # true on this machine for these three, so:
    if name == 'cpu_distributed':
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    elif name == 'cpu_amp':
        monkeypatch.setattr(cpu_amp, 'has_accelerator', lambda: True)
    else:
        monkeypatch.setattr(module, 'defect_present', lambda: False)
    assert module.apply() is False
    assert [getattr(owner, attr) for owner, attr in TARGETS[name]] == originals


@pytest.mark.parametrize('name', sorted(TARGETS))
def test_applies_once_where_the_defect_is_present(monkeypatch, name):
    module = getattr(patches, name)
    originals = [unpatch(monkeypatch, owner, attr) for owner, attr in TARGETS[name]]
    if name == 'cpu_distributed':
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    elif name == 'cpu_amp':
        monkeypatch.setattr(cpu_amp, 'has_accelerator', lambda: False)
    assert module.apply() is True
    patched = [getattr(owner, attr) for owner, attr in TARGETS[name]]
    assert all(new is not old for new, old in zip(patched, originals))
    assert module.apply() is False
    assert [getattr(owner, attr) for owner, attr in TARGETS[name]] == patched


def test_an_editable_install_is_found_where_its_module_is(tmp_path):
    """MMEngine names <site-packages>/smallbig_mm for an editable install: the fix answers
    with the folder the module is imported from; a folder MMEngine finds stays its answer."""
    import smallbig_mm

    missing = str(tmp_path / 'site-packages' / 'smallbig_mm')
    found = editable_installs.package_folder('smallbig-mm', lambda package: missing)
    assert found == os.path.dirname(smallbig_mm.__file__)
    assert editable_installs.package_folder('x', lambda package: str(tmp_path)) == str(tmp_path)
    nowhere = str(tmp_path / 'no_such_module_here')
    assert editable_installs.package_folder('x', lambda package: nowhere) == nowhere


def test_bf16_head_is_a_no_op_where_numpy_takes_bfloat16(monkeypatch):
    from mmaction.models.heads.base import BaseHead

    original = unpatch(monkeypatch, BaseHead, 'loss_by_feat')
    unpatch(monkeypatch, AmpOptimWrapper, '__init__')
    monkeypatch.setattr(bf16_head, 'numpy_takes_bfloat16', lambda: True)
    assert bf16_head.apply() is False
    assert BaseHead.loss_by_feat is original


def test_bf16_head_casts_bfloat16_scores_only(monkeypatch):
    from mmaction.models.heads.base import BaseHead

    seen = []

    def record(self, cls_scores, data_samples):  # stands in for MMAction2's loss
        seen.append(cls_scores.dtype)
        return {}

    monkeypatch.setattr(BaseHead, 'loss_by_feat', record)
    assert bf16_head.patch_head() is True  # what the first bfloat16 AmpOptimWrapper does
    assert bf16_head.patch_head() is False
    head = object()  # the recorder ignores self
    scores = torch.zeros(2, 3, dtype=torch.bfloat16)
    BaseHead.loss_by_feat(head, scores, [])
    BaseHead.loss_by_feat(head, scores.half(), [])
    assert seen == [torch.float32, torch.float16]


def test_mmengine_reads_local_checkpoints_through_the_guarded_reader():
    from mmengine.runner.checkpoint import CheckpointLoader

    assert mmengine_checkpoints.is_applied()
    assert CheckpointLoader._schemes[''] is mmengine_checkpoints.load_from_local
    assert mmengine_checkpoints.apply() is False  # already installed


def test_mmaction_models_import_and_drn_explains_itself():
    import mmaction.models  # noqa: F401  (fails on the plain 1.2.0 wheel)
    from mmaction.models.localizers import DRN

    with pytest.raises(ImportError, match='mmaction2#2714'):
        DRN()


def test_drn_stub_is_not_installed_where_the_folder_exists(monkeypatch):
    monkeypatch.delitem(sys.modules, 'mmaction.models.localizers.drn')
    monkeypatch.setattr(os.path, 'isdir', lambda path: True)
    assert missing_drn.apply() is False
    assert 'mmaction.models.localizers.drn' not in sys.modules


def test_an_mmengine_style_checkpoint_loads_through_mmengine_and_the_reader(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    buffer = HistoryBuffer()
    buffer.update(0.5)
    path = tmp_path / 'training.pth'
    torch.save(
        {
            'message_hub': {'loss': buffer, 'array': np.arange(3.0), 'scalar': np.float64(2)},
            'state_dict': {'w': torch.ones(2)},
        },
        path,
    )
    before = list(torch.serialization.get_safe_globals())
    for loaded in (CheckpointLoader.load_checkpoint(str(path)), read_raw_checkpoint(path)):
        assert loaded['message_hub']['loss'].current() == 0.5
        assert loaded['message_hub']['array'].tolist() == [0.0, 1.0, 2.0]
    # nothing process-wide: allowed only during the read (torch may add its own types, such
    # as DTensor's when torch.distributed.tensor is first imported, so only ours are compared)
    after = torch.serialization.get_safe_globals()
    assert HistoryBuffer not in before
    assert [g for g in checkpoint_globals() if g in after and g not in before] == []


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


class _ReachesAttributes:
    def __reduce__(self):  # getattr is allowed for HistoryBuffer's statistics only
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('payload', [_RunsCode(), _ReachesAttributes()])
def test_other_pickles_are_still_refused(payload, tmp_path):
    buffer = io.BytesIO()
    torch.save({'x': payload}, buffer)
    buffer.seek(0)
    path = tmp_path / 'payload.pth'
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match='refused to load'):
        read_raw_checkpoint(path)


class _TouchesAFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_mmengine_url_loads_go_through_the_guarded_reader(server, torch_home, tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    url, root, _ = server
    torch.save({'state_dict': {'w': torch.ones(2)}}, root / 'good.pth')
    marker = tmp_path / 'pwned'
    torch.save({'x': _TouchesAFile(marker)}, root / 'evil.pth')
    loaded = CheckpointLoader.load_checkpoint(f'{url}/good.pth')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    from smallbig_mm.weights.download import cache_path

    assert os.path.isfile(cache_path(f'{url}/good.pth'))  # downloaded into torch hub's cache
    assert os.path.dirname(os.path.dirname(cache_path(f'{url}/good.pth'))) == str(torch_home)
    with pytest.raises(CheckpointError, match='refused to load'):
        CheckpointLoader.load_checkpoint(f'{url}/evil.pth')
    assert not marker.exists()  # MMEngine's own URL loader would have run the pickle


def test_cpu_ddp_drops_device_ids(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip('the CPU fix is not applied where CUDA exists')
    from mmengine.model.wrappers import MMDistributedDataParallel

    if not torch.distributed.is_initialized():
        monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')  # restored after the test
        monkeypatch.setenv('MASTER_PORT', str(free_port()))
        torch.distributed.init_process_group('gloo', rank=0, world_size=1)
    try:
        model = MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0])
        assert model.device_ids is None
    finally:
        torch.distributed.destroy_process_group()


IMPORT_PROBE = """
import json, sys, torch
import timm  # its import adds torch's DTensor types to the allow-list: not ours to check
before = sorted(map(repr, torch.serialization.get_safe_globals()))
{statement}
print(json.dumps(dict(
    loaded=sorted(m for m in sys.modules if m.split('.')[0] in ('mmengine', 'mmaction', 'mmcv')),
    safe_globals_changed=sorted(map(repr, torch.serialization.get_safe_globals())) != before)))
"""


def _probe(statement: str) -> dict:
    out = subprocess.run(
        [sys.executable, '-c', IMPORT_PROBE.format(statement=statement)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_smallbig_mm_keeps_to_itself():
    result = _probe(
        'import smallbig_mm, timm; timm.create_model("smallbig_resnet23", '
        'pretrained=False, base_channels=8)'
    )
    assert result == {'loaded': [], 'safe_globals_changed': False}


def test_the_probe_sees_what_import_smallbig_mm_mmaction_does():
    result = _probe('import smallbig_mm.mmaction')
    assert 'mmengine' in result['loaded'] and 'mmaction' in result['loaded']
    # MMEngine's checkpoints are allowed only inside the guarded reader, never process-wide
    assert result['safe_globals_changed'] is False
