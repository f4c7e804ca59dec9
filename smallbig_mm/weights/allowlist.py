"""The exact pickle globals a checkpoint may name, allowed only while the reader reads.

``torch.load(weights_only=True)`` refuses every global outside torch's own allow-list.
MMEngine training checkpoints (``epoch_N.pth``) also pickle a ``HistoryBuffer`` and numpy
arrays and scalars. :func:`checkpoint_globals` lists exactly those, and
:func:`smallbig_mm.weights.io.read_checkpoint` allows them inside
``torch.serialization.safe_globals(...)`` for the duration of one read: nothing is added to
torch's process-wide allow-list, so importing this package changes no global torch state.

``getattr`` is allowed only through :func:`history_buffer_getattr`, which answers the one
lookup a HistoryBuffer pickles (its statistics methods) and refuses any other.
"""

import importlib
import importlib.util
import pickle
from typing import Any, List


def history_buffer_getattr(owner: type, name: str) -> Any:
    """Stands in for ``getattr`` while unpickling, for HistoryBuffer's statistics only.

    A HistoryBuffer pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``;
    allowing the real ``getattr`` would let a checkpoint reach any attribute.

    Raises:
        pickle.UnpicklingError: for any other owner or attribute.
    """
    from mmengine.logging import HistoryBuffer

    from ..compat.mmengine import history_statistics

    allowed = {'min', 'max', 'current', 'mean', *history_statistics()}
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({owner!r}, {name!r}) in a weights_only checkpoint: only '
        'HistoryBuffer statistics methods are allowed'
    )


def _numpy_globals() -> List[Any]:
    import numpy as np

    # numpy >= 2 moved the reconstructors to numpy._core (numpy 1.x: numpy.core)
    new_home = importlib.util.find_spec('numpy._core') is not None
    multiarray = importlib.import_module(
        'numpy._core.multiarray' if new_home else 'numpy.core.multiarray'
    )
    dtype_classes = [
        type(np.dtype(t))
        for t in (
            np.bool_,
            np.int8,
            np.int16,
            np.int32,
            np.int64,
            np.uint8,
            np.float16,
            np.float32,
            np.float64,
        )
    ]
    return [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar, *dtype_classes]


def checkpoint_globals() -> List[Any]:
    """The globals a training checkpoint may pickle besides tensors and containers.

    numpy arrays, dtypes and scalars; with MMEngine installed also ``HistoryBuffer`` and
    the restricted ``getattr``. Imports MMEngine only when it is installed and only when
    called (at read time).

    Example:
        >>> import numpy as np
        >>> np.ndarray in checkpoint_globals()
        True
    """
    allowed = _numpy_globals()
    if importlib.util.find_spec('mmengine') is not None:
        from mmengine.logging import HistoryBuffer

        allowed += [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr')]
    return allowed
