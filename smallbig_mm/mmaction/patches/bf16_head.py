"""MMAction2's heads cannot compute their training accuracy from bfloat16 scores.

Upstream: no MMAction2 issue (searched). mmaction2 1.2.0's ``BaseHead.loss_by_feat``
computes the top-k training accuracy with ``cls_scores.detach().cpu().numpy()``, and
numpy has no bfloat16 ("Got unsupported ScalarType BFloat16"), so any bfloat16 autocast
run (``AmpOptimWrapper(dtype='bfloat16')``, and ``--amp`` on CPUs) stops at its first
iteration.

The fix hands bfloat16 scores to the head as float32 (the loss is computed in float32
under autocast anyway); other dtypes are untouched. Where numpy accepts bfloat16
tensors, nothing is changed.

``import smallbig_mm.mmaction`` does not import ``mmaction.models`` (slow, and noisy
before the tools quieten the console), so :func:`apply` patches the head at once only if
``mmaction.models`` is already imported; otherwise it defers the patch to the first
``AmpOptimWrapper`` built with bfloat16 (the runner builds the model, and so imports
``mmaction.models``, before the optimizer wrapper).
"""

import importlib.util
import sys

import torch

from .wrapping import install, is_patched

ISSUE = 'none upstream; mmaction2 1.2.0 BaseHead.loss_by_feat calls .numpy() on the scores'


def numpy_takes_bfloat16() -> bool:
    """Whether ``Tensor.numpy()`` accepts a bfloat16 tensor here."""
    try:
        torch.zeros(1, dtype=torch.bfloat16).numpy()
    except TypeError:
        return False
    return True


def defect_present() -> bool:
    """Whether MMAction2 is installed and numpy rejects bfloat16 tensors."""
    return importlib.util.find_spec('mmaction') is not None and not numpy_takes_bfloat16()


HEADS_MODULE = 'mmaction.models.heads.base'
TRIGGER = '__smallbig_bf16_trigger__'


def head_is_patched() -> bool:
    """Whether ``BaseHead.loss_by_feat`` is this module's (False before it is imported)."""
    heads = sys.modules.get(HEADS_MODULE)
    return heads is not None and is_patched(heads.BaseHead, 'loss_by_feat')


def _trigger_installed() -> bool:
    from mmengine.optim import AmpOptimWrapper

    return is_patched(AmpOptimWrapper, '__init__', TRIGGER)


def is_applied() -> bool:
    """Whether the head is patched, or the patch waits for a bfloat16 AmpOptimWrapper."""
    if importlib.util.find_spec('mmaction') is None:
        return False
    return head_is_patched() or _trigger_installed()


def _install_trigger() -> None:
    """Applies :func:`patch_head` when an ``AmpOptimWrapper`` with bfloat16 is built."""
    from mmengine.optim import AmpOptimWrapper

    original = AmpOptimWrapper.__init__

    def __init__(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        if self.cast_dtype == torch.bfloat16:
            patch_head()

    install(AmpOptimWrapper, '__init__', __init__, TRIGGER)


def apply() -> bool:
    """Casts bfloat16 scores to float32 in the head's loss if needed. True if done now.

    Patches the head now if ``mmaction.models`` is imported, else at the first bfloat16
    ``AmpOptimWrapper`` (see the module docstring).
    """
    if not defect_present() or is_applied():
        return False
    if HEADS_MODULE in sys.modules:
        return patch_head()
    _install_trigger()
    return True


def patch_head() -> bool:
    """Wraps ``BaseHead.loss_by_feat`` (imports ``mmaction.models``). True if done now."""
    if head_is_patched():
        return False
    from mmaction.models.heads.base import BaseHead

    original = BaseHead.loss_by_feat

    def loss_by_feat(self, cls_scores: torch.Tensor, data_samples) -> dict:
        if isinstance(cls_scores, torch.Tensor) and cls_scores.dtype == torch.bfloat16:
            cls_scores = cls_scores.float()
        return original(self, cls_scores, data_samples)

    install(BaseHead, 'loss_by_feat', loss_by_feat)
    return True
