"""MMEngine's local checkpoint reads go through the package's guarded reader.

Upstream: open-mmlab/mmengine#1655 (PR #1650 unmerged). mmengine 0.10.7's
``load_from_local`` calls ``torch.load(filename, map_location)`` without ``weights_only``.
On torch >= 2.6 that refuses every training checkpoint MMEngine itself wrote
(``HistoryBuffer``, numpy arrays), so ``--resume``, ``load_from=``, ``tools/test.py`` and
``init_cfg=dict(type='Pretrained')`` fail with a 40-line traceback that suggests
``weights_only=False``; and because ``weights_only`` is left unset,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns it off and a pickle's code runs.

:func:`route_local_checkpoints` registers :func:`load_from_local` for local paths (the
``''`` scheme) in ``CheckpointLoader``: it reads with
:func:`smallbig_mm.weights.read_raw_checkpoint` (``weights_only=True`` passed explicitly,
the training-checkpoint types allowed only during the read) and turns every failure into
a one-line :class:`~smallbig_mm.weights.CheckpointError` naming the file. Remote schemes
(``http://``, ``s3://``, ...) keep MMEngine's loaders.
"""
import os.path as osp
from typing import Any


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


def route_local_checkpoints() -> bool:
    """Registers :func:`load_from_local` as MMEngine's loader of local paths.

    Returns True if installed; False where MMEngine is absent or it was already done.
    """
    try:
        from mmengine.runner.checkpoint import CheckpointLoader
    except ImportError:
        return False
    if CheckpointLoader._schemes.get('') is load_from_local:
        return False
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    return True
