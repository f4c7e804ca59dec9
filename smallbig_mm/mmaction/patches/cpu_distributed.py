"""``--launcher pytorch`` fails on machines without CUDA.

Upstream: no MMEngine issue asks for it (searched); the code is the one
open-mmlab/mmengine PR #973 last changed. mmengine 0.10.7's ``_init_dist_pytorch``
(``mmengine/dist/utils.py``) calls ``torch.cuda.set_device`` unconditionally ("Found no
NVIDIA driver"), and ``Runner.wrap_model`` hands ``MMDistributedDataParallel``
``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU module.

Without CUDA, the fix initialises the process group without ``set_device`` (``nccl``
becomes ``gloo``, with a warning) and drops ``device_ids`` for modules whose parameters
are all on the CPU. Where CUDA exists nothing is changed.
"""

import logging

import torch
import torch.distributed as torch_dist
from mmengine.dist import utils as dist_utils
from mmengine.model.wrappers import MMDistributedDataParallel

from ...compat.mmengine import INIT_DIST_PYTORCH
from .wrapping import apply_once, install, is_patched

ISSUE = (
    'none upstream; mmengine/dist/utils.py _init_dist_pytorch and Runner.wrap_model '
    '(open-mmlab/mmengine PR #973)'
)
logger = logging.getLogger(__name__)


def defect_present() -> bool:
    """Whether CUDA is absent."""
    return not torch.cuda.is_available()


def is_applied() -> bool:
    """Whether MMEngine's ``_init_dist_pytorch`` is this module's."""
    return is_patched(dist_utils, INIT_DIST_PYTORCH)


def _install() -> None:
    original_init_dist = getattr(dist_utils, INIT_DIST_PYTORCH)

    def init_dist_pytorch_cpu(backend: str, init_backend: str = 'torch', **kwargs) -> None:
        if init_backend != 'torch':
            return original_init_dist(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            logger.warning(
                'CUDA is not available: using the gloo backend instead of nccl '
                "(set env_cfg.dist_cfg.backend='gloo' to silence this)"
            )
            backend = 'gloo'
        torch_dist.init_process_group(backend=backend, **kwargs)

    original_ddp_init = MMDistributedDataParallel.__init__

    def ddp_init_cpu(self, module, *args, **kwargs) -> None:
        if all(p.device.type == 'cpu' for p in module.parameters()):
            kwargs['device_ids'] = None
        original_ddp_init(self, module, *args, **kwargs)

    install(dist_utils, INIT_DIST_PYTORCH, init_dist_pytorch_cpu)
    install(MMDistributedDataParallel, '__init__', ddp_init_cpu)


def apply() -> bool:
    """Installs the CPU behaviour if the defect is present. True if done now."""
    return apply_once(defect_present, is_applied, _install)
