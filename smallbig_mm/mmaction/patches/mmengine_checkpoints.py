"""MMEngine reads local checkpoints with ``torch.load`` and ``weights_only`` left unset.

Upstream: open-mmlab/mmengine#1655 (fix in PR #1650, unmerged). mmengine 0.10.7's
``load_from_local`` calls ``torch.load(filename, map_location)``. On torch >= 2.6 that
loads with ``weights_only=True`` by default and refuses every training checkpoint MMEngine
itself wrote (they pickle ``HistoryBuffer`` objects and numpy arrays), so ``--resume``,
``load_from=``, ``tools/test.py`` and ``init_cfg=dict(type='Pretrained')`` end in a
40-line traceback that suggests ``weights_only=False``. And because ``weights_only`` is
left unset, ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns it off and a pickle's code runs.

The fix registers :func:`load_from_local` as ``CheckpointLoader``'s reader of local
paths (the ``''`` scheme): it reads through the package's one guarded reader,
:func:`smallbig_mm.weights.read_raw_checkpoint`, which passes ``weights_only=True``
explicitly and allows the training-checkpoint types only during that read (nothing is
added to torch's global allow-list), and turns every failure into a one-line
:class:`~smallbig_mm.weights.CheckpointError` naming the file. Remote schemes
(``http://``, ``s3://``, ...) keep MMEngine's loaders.
"""
import importlib.util
import os.path as osp
from typing import Any

ISSUE = 'open-mmlab/mmengine#1655'


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local-file loader, reading through the guarded reader.

    Args:
        filename: a local path (``~`` expanded).
        map_location: as for ``torch.load``.

    Returns:
        The object the file holds (MMEngine reads ``meta``, ``state_dict``, ...).

    Raises:
        CheckpointError: naming the file, for a missing, truncated, corrupt or unsafe file.
    """
    from ...weights import read_raw_checkpoint
    return read_raw_checkpoint(osp.expanduser(filename), map_location=map_location)


def defect_present() -> bool:
    """Whether MMEngine is installed (every 0.10.x release reads local files this way)."""
    return importlib.util.find_spec('mmengine') is not None


def is_applied() -> bool:
    """Whether local paths are read by :func:`load_from_local`."""
    if not defect_present():
        return False
    from mmengine.runner.checkpoint import CheckpointLoader
    return CheckpointLoader._schemes.get('') is load_from_local


def apply() -> bool:
    """Routes MMEngine's local checkpoint reads through the guarded reader. True if done now."""
    if not defect_present() or is_applied():
        return False
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    return True
