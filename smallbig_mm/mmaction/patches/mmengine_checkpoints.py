"""torch >= 2.6 refuses MMEngine's training checkpoints under ``weights_only=True``.

Upstream: open-mmlab/mmengine#1655 (fix in PR #1650). torch 2.6 made ``weights_only=True``
the default of ``torch.load``; MMEngine's checkpoints pickle ``HistoryBuffer`` objects and
numpy arrays and scalars in their message hub, so resuming or testing fails with
"Weights only load failed ... HistoryBuffer".

The fix allow-lists exactly the globals those checkpoints hold
(``torch.serialization.add_safe_globals``), and ``getattr`` only for HistoryBuffer's
statistics methods. ``weights_only`` stays on: any other pickle is still refused. Never
set ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` instead: it lets any pickle run code.
"""
import importlib.util
import pickle

import torch
from torch.torch_version import TorchVersion

ISSUE = 'open-mmlab/mmengine#1655'


def _history_buffer_getattr(owner: type, name: str):
    """Stands in for ``getattr`` while unpickling, for HistoryBuffer's statistics only.

    A HistoryBuffer pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``;
    allowing the real ``getattr`` would let a checkpoint reach any attribute, so only
    that exact lookup is answered.
    """
    from mmengine.logging import HistoryBuffer

    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({owner!r}, {name!r}) in a weights_only checkpoint: only '
        'HistoryBuffer statistics methods are allowed')


def checkpoint_globals() -> list:
    """The exact globals an MMEngine training checkpoint pickles."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    try:  # numpy >= 2 moved the reconstructors to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.float16,
        np.float32, np.float64)]
    return [HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar, *dtype_classes,
            (_history_buffer_getattr, 'builtins.getattr')]


def defect_present() -> bool:
    """Whether torch loads ``weights_only`` by default (>= 2.6) and MMEngine is installed."""
    return (TorchVersion(torch.__version__) >= (2, 6)
            and hasattr(torch.serialization, 'add_safe_globals')
            and importlib.util.find_spec('mmengine') is not None)


def is_applied() -> bool:
    """Whether HistoryBuffer is on torch's allow-list."""
    get_safe_globals = getattr(torch.serialization, 'get_safe_globals', None)
    if get_safe_globals is None or importlib.util.find_spec('mmengine') is None:
        return False
    from mmengine.logging import HistoryBuffer
    return HistoryBuffer in get_safe_globals()


def apply() -> bool:
    """Allow-lists the checkpoint globals if the defect is present. True if done now."""
    if not defect_present() or is_applied():
        return False
    torch.serialization.add_safe_globals(checkpoint_globals())
    return True
