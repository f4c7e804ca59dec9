"""MMEngine's ``AmpOptimWrapper`` refuses to build on machines without an accelerator.

Upstream: mmengine 0.10.7 asserts CUDA, NPU, MLU or MUSA in ``AmpOptimWrapper.__init__``
("``AmpOptimizerWrapper`` is only available training on gpu, npu or mlu", as reported in
open-mmlab/mmpretrain#1556), although its ``autocast`` already supports the CPU with
bfloat16. Mixed precision on CPUs is a behaviour this package adds, so that ``--amp``
works on any machine.

Without an accelerator the wrapper then builds with:

- autocast dtype bfloat16 (``dtype=None`` or ``'bfloat16'``; MMEngine's CPU autocast
  takes no other half type, so ``'float16'`` is refused with the accepted values);
- a disabled loss scaler: bfloat16 has float32's exponent range, so gradients need no
  scaling (the scaler's ``state_dict`` is empty and resumes load it fine).

Where an accelerator exists nothing is changed.
"""

from typing import Optional, Union

import torch
from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from ...compat.mmengine import set_amp_scale_update
from .wrapping import apply_once, install, is_patched

ISSUE = 'mmengine AmpOptimWrapper asserts an accelerator (open-mmlab/mmpretrain#1556)'
CPU_AMP_DTYPES = ('bfloat16', 'float32', 'float64')


def has_accelerator() -> bool:
    """Whether MMEngine's own AmpOptimWrapper can run here (CUDA, NPU, MLU or MUSA)."""
    return is_cuda_available() or is_npu_available() or is_mlu_available() or is_musa_available()


def cpu_autocast_dtype(dtype: Optional[Union[str, torch.dtype]]) -> torch.dtype:
    """The CPU autocast dtype for an ``AmpOptimWrapper`` ``dtype`` argument.

    Example:
        >>> cpu_autocast_dtype(None)
        torch.bfloat16
    """
    name = (
        'bfloat16'
        if dtype is None
        else (str(dtype).replace('torch.', '') if isinstance(dtype, torch.dtype) else dtype)
    )
    if name not in CPU_AMP_DTYPES:
        raise ValueError(
            f'optim_wrapper.dtype={name!r} is not supported by AmpOptimWrapper on a machine '
            f'without a GPU: use one of {CPU_AMP_DTYPES} (bfloat16 is the mixed-precision '
            f'one), or leave dtype unset'
        )
    return getattr(torch, name)


def _cpu_init(
    self,
    loss_scale: Union[str, float, dict] = 'dynamic',
    dtype: Optional[Union[str, torch.dtype]] = None,
    use_fsdp: bool = False,
    **kwargs,
) -> None:
    """``AmpOptimWrapper.__init__`` for CPU-only machines (see the module docstring)."""
    if (
        not isinstance(loss_scale, (str, float, dict))
        or isinstance(loss_scale, str)
        and loss_scale != 'dynamic'
    ):
        raise TypeError(f"loss_scale must be 'dynamic', a float or a dict, got {loss_scale!r}")
    OptimWrapper.__init__(self, **kwargs)
    set_amp_scale_update(self, None)
    self.cast_dtype = cpu_autocast_dtype(dtype)
    self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)


def defect_present() -> bool:
    """Whether no accelerator is installed."""
    return not has_accelerator()


def is_applied() -> bool:
    """Whether ``AmpOptimWrapper.__init__`` is this module's."""
    return is_patched(AmpOptimWrapper, '__init__')


def _install() -> None:
    original = AmpOptimWrapper.__init__

    def __init__(self, *args, **kwargs) -> None:
        if has_accelerator():  # e.g. a device made visible after the import
            original(self, *args, **kwargs)
        else:
            _cpu_init(self, *args, **kwargs)

    install(AmpOptimWrapper, '__init__', __init__)


def apply() -> bool:
    """Lets ``AmpOptimWrapper`` build on the CPU if the defect is present. True if done now."""
    return apply_once(defect_present, is_applied, _install)
