"""Each compat fix acts where its defect is present and nowhere else."""
import io
import os
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from helpers import free_port
from smallbig_mm.mmaction import patches as compat
from smallbig_mm.weights import CheckpointError, read_raw_checkpoint


def test_all_fixes_for_this_stack_are_applied_once():
    assert compat.apply_all() == ['fix_missing_drn', 'route_local_checkpoints',
                                  'fix_cpu_distributed']
    assert compat.route_local_checkpoints() is False  # already installed


def test_mmaction_models_import_and_drn_explains_itself():
    import mmaction.models  # noqa: F401  (fails on the plain 1.2.0 wheel)
    from mmaction.models.localizers import DRN
    with pytest.raises(ImportError, match='mmaction2#2714'):
        DRN()


def test_drn_stub_is_not_installed_where_the_folder_exists(monkeypatch):
    monkeypatch.delitem(sys.modules, 'mmaction.models.localizers.drn')
    monkeypatch.setattr(os.path, 'isdir', lambda path: True)
    assert compat.fix_missing_drn() is False
    assert 'mmaction.models.localizers.drn' not in sys.modules


def test_an_mmengine_style_checkpoint_loads_through_mmengine_and_the_reader(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    buffer = HistoryBuffer()
    buffer.update(0.5)
    path = tmp_path / 'training.pth'
    torch.save({'message_hub': {'loss': buffer, 'array': np.arange(3.), 'scalar': np.float64(2)},
                'state_dict': {'w': torch.ones(2)}}, path)
    before = list(torch.serialization.get_safe_globals())
    for loaded in (CheckpointLoader.load_checkpoint(str(path)), read_raw_checkpoint(path)):
        assert loaded['message_hub']['loss'].current() == 0.5
        assert loaded['message_hub']['array'].tolist() == [0., 1., 2.]
    assert HistoryBuffer not in before  # nothing process-wide: allowed only during the read
    assert torch.serialization.get_safe_globals() == before


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


def test_cpu_distributed_fix_is_a_no_op_where_cuda_exists(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert compat.fix_cpu_distributed() is False


def test_cpu_ddp_drops_device_ids():
    from mmengine.model.wrappers import MMDistributedDataParallel
    if not torch.distributed.is_initialized():
        os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
        torch.distributed.init_process_group('gloo', rank=0, world_size=1)
    try:
        model = MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0])
        assert model.device_ids is None
    finally:
        torch.distributed.destroy_process_group()
