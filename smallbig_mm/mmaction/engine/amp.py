"""Mixed precision with MMEngine's ``AmpOptimWrapper``, also on machines without a GPU.

Switch it on with ``smallbig-train --amp`` or ``optim_wrapper = dict(type='AmpOptimWrapper',
loss_scale='dynamic', optimizer=...)``. Where CUDA exists nothing changes: float16
autocast with a dynamic loss scaler, as in every MMAction2 config.

mmengine 0.10.7's ``AmpOptimWrapper`` asserts that CUDA (or an NPU/MLU/MUSA) is present,
although its ``autocast`` already supports the CPU with bfloat16. Without an
accelerator, :func:`patch_amp_optim_wrapper` lets the wrapper build with:

- autocast dtype bfloat16 (``dtype=None`` or ``'bfloat16'``; MMEngine's CPU autocast
  takes no other half type, so ``'float16'`` is refused with the accepted values);
- a disabled loss scaler: bfloat16 has float32's exponent range, so gradients need no
  scaling (the scaler's ``state_dict`` is empty and resumes load it fine).

:func:`fix_bfloat16_head_accuracy` answers a defect of MMAction2 1.2.0 that bfloat16
autocast hits on any device: ``BaseHead.loss_by_feat`` computes the top-k training
accuracy with ``cls_scores.cpu().numpy()``, and numpy has no bfloat16 ("Got unsupported
ScalarType BFloat16"). It hands bfloat16 scores to the head as float32 (the loss is
computed in float32 under autocast anyway); other dtypes are untouched.
"""
import functools
from typing import Optional, Union

import torch
from mmengine.device import (is_cuda_available, is_mlu_available, is_musa_available,
                             is_npu_available)
from mmengine.optim import AmpOptimWrapper, OptimWrapper

CPU_AMP_DTYPES = ('bfloat16', 'float32', 'float64')


def has_accelerator() -> bool:
    """Whether MMEngine's own AmpOptimWrapper can run here (CUDA, NPU, MLU or MUSA)."""
    return is_cuda_available() or is_npu_available() or is_mlu_available() or \
        is_musa_available()


def cpu_autocast_dtype(dtype: Optional[Union[str, torch.dtype]]) -> torch.dtype:
    """The CPU autocast dtype for an ``AmpOptimWrapper`` ``dtype`` argument.

    Example:
        >>> cpu_autocast_dtype(None)
        torch.bfloat16
    """
    name = 'bfloat16' if dtype is None else (
        str(dtype).replace('torch.', '') if isinstance(dtype, torch.dtype) else dtype)
    if name not in CPU_AMP_DTYPES:
        raise ValueError(
            f'optim_wrapper.dtype={name!r} is not supported by AmpOptimWrapper on a machine '
            f'without a GPU: use one of {CPU_AMP_DTYPES} (bfloat16 is the mixed-precision '
            f'one), or leave dtype unset')
    return getattr(torch, name)


def _cpu_init(self: AmpOptimWrapper, loss_scale: Union[str, float, dict] = 'dynamic',
              dtype: Optional[Union[str, torch.dtype]] = None, use_fsdp: bool = False,
              **kwargs) -> None:
    """``AmpOptimWrapper.__init__`` for CPU-only machines (see the module docstring)."""
    if not isinstance(loss_scale, (str, float, dict)) or \
            isinstance(loss_scale, str) and loss_scale != 'dynamic':
        raise TypeError(f"loss_scale must be 'dynamic', a float or a dict, got {loss_scale!r}")
    OptimWrapper.__init__(self, **kwargs)
    self._scale_update_param = None
    self.cast_dtype = cpu_autocast_dtype(dtype)
    self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)


def fix_bfloat16_head_accuracy() -> bool:
    """Lets MMAction2's heads compute their training loss from bfloat16 scores.

    Idempotent; returns True the first time.
    """
    from mmaction.models.heads.base import BaseHead

    original = BaseHead.loss_by_feat
    if getattr(original, '_smallbig_bf16', False):
        return False

    @functools.wraps(original)
    def loss_by_feat(self, cls_scores: torch.Tensor, data_samples) -> dict:
        if isinstance(cls_scores, torch.Tensor) and cls_scores.dtype == torch.bfloat16:
            cls_scores = cls_scores.float()
        return original(self, cls_scores, data_samples)

    loss_by_feat._smallbig_bf16 = True
    BaseHead.loss_by_feat = loss_by_feat
    return True


def patch_amp_optim_wrapper() -> bool:
    """Wraps ``AmpOptimWrapper.__init__`` with the two fixes of this module.

    Without an accelerator the wrapper builds for the CPU (bfloat16, no loss scaling);
    with one, MMEngine's own ``__init__`` runs. Whenever the autocast dtype is bfloat16,
    :func:`fix_bfloat16_head_accuracy` is applied (then, not at import: it imports
    ``mmaction.models``). Idempotent; returns True the first time.
    """
    if getattr(AmpOptimWrapper.__init__, '_smallbig_amp', False):
        return False
    original = AmpOptimWrapper.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs) -> None:
        if has_accelerator():
            original(self, *args, **kwargs)
        else:
            _cpu_init(self, *args, **kwargs)
        if self.cast_dtype == torch.bfloat16:
            fix_bfloat16_head_accuracy()

    __init__._smallbig_amp = True
    AmpOptimWrapper.__init__ = __init__
    return True
