"""Work-arounds for defects of the mmaction2 1.2.0 / mmengine 0.10.7 / torch 2.x stack.

Each fix names the upstream issue it answers, checks that the defect is present, and
does nothing otherwise. :func:`apply_all` runs them all once; ``import smallbig_mm.mmaction``
calls it, so MMAction2's own tools get the fixes through ``custom_imports`` too.

- ``fix_missing_drn``: the mmaction2 1.2.0 wheel lacks ``models/localizers/drn``, so
  ``import mmaction.models`` fails (open-mmlab/mmaction2#2714, PR #2721 unmerged).
- ``route_local_checkpoints`` (:mod:`.checkpoint_loader`): mmengine 0.10.7 reads local
  checkpoints with ``torch.load`` and ``weights_only`` unset, which on torch >= 2.6 refuses
  MMEngine's own training checkpoints and which ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
  turns unsafe (open-mmlab/mmengine#1655, PR #1650); local reads go through the
  package's guarded reader instead. Nothing is added to torch's global allow-list.
- ``fix_cpu_distributed``: with ``--launcher pytorch`` on a machine without CUDA,
  mmengine 0.10.7 calls ``torch.cuda.set_device`` (``dist/utils.py``) and wraps CPU
  models in DDP with ``device_ids`` (``Runner.wrap_model``); both fail.
"""
import functools
import importlib.util
import logging
import os
import sys
import types
from typing import List, Optional

import torch

from .checkpoint_loader import route_local_checkpoints

logger = logging.getLogger(__name__)
_applied: Optional[List[str]] = None


def fix_missing_drn() -> bool:
    """Stubs ``mmaction.models.localizers.drn`` when the installed wheel lacks it.

    The stub's ``DRN`` raises an explanatory error if anyone builds it; recognition is
    unaffected. Checks the folder on disk (``find_spec`` on the subpackage would itself
    run the failing import). Returns True if the stub was installed.
    """
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False
    package_dir = list(spec.submodule_search_locations)[0]
    drn_dir = os.path.join(package_dir, 'models', 'localizers', 'drn')
    name = 'mmaction.models.localizers.drn'
    if os.path.isdir(drn_dir) or name in sys.modules:
        return False

    class DRN:  # noqa: D401 - placeholder with the real name
        """Placeholder: the DRN localizer is missing from this mmaction2 wheel."""

        def __init__(self, *args, **kwargs) -> None:
            raise ImportError('DRN is missing from the installed mmaction2 wheel '
                              '(open-mmlab/mmaction2#2714); install mmaction2 from source '
                              'to use it.')

    package = types.ModuleType(name)
    package.__path__ = []  # a package, so that ``.drn.drn`` resolves
    module = types.ModuleType(f'{name}.drn')
    module.DRN = DRN
    package.drn = module
    sys.modules[name] = package
    sys.modules[f'{name}.drn'] = module
    return True


def fix_cpu_distributed() -> bool:
    """Makes ``--launcher pytorch`` work on machines without CUDA (gloo, CPU DDP).

    mmengine 0.10.7 calls ``torch.cuda.set_device`` unconditionally and passes
    ``device_ids=[LOCAL_RANK]`` to DDP, which rejects it for a CPU module. Without CUDA,
    this initialises the process group without set_device (``nccl`` becomes ``gloo``,
    with a warning) and drops ``device_ids`` for CPU modules. No-op where CUDA exists.
    """
    if torch.cuda.is_available() or importlib.util.find_spec('mmengine') is None:
        return False
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel

    original_init_dist = dist_utils._init_dist_pytorch

    @functools.wraps(original_init_dist)
    def init_dist_pytorch_cpu(backend: str, init_backend: str = 'torch', **kwargs) -> None:
        if init_backend != 'torch':
            return original_init_dist(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            logger.warning('CUDA is not available: using the gloo backend instead of nccl '
                           "(set env_cfg.dist_cfg.backend='gloo' to silence this)")
            backend = 'gloo'
        torch_dist.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = init_dist_pytorch_cpu

    original_ddp_init = MMDistributedDataParallel.__init__

    @functools.wraps(original_ddp_init)
    def ddp_init_cpu(self, module, *args, **kwargs) -> None:
        if all(p.device.type == 'cpu' for p in module.parameters()):
            kwargs['device_ids'] = None
        original_ddp_init(self, module, *args, **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init_cpu
    return True


def apply_all() -> List[str]:
    """Applies, once, every fix whose defect is present. Returns the names applied."""
    global _applied
    if _applied is None:
        fixes = (fix_missing_drn, route_local_checkpoints, fix_cpu_distributed)
        _applied = [fix.__name__ for fix in fixes if fix()]
    return list(_applied)
