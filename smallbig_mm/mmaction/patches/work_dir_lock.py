"""One run per work directory, for every route that builds MMEngine's ``Runner``.

Upstream: no MMEngine issue; a behaviour this package adds. mmengine 0.10.7 lets two runs
share a ``work_dir``: both train, their checkpoints overwrite each other's
(``epoch_N.pth``, ``last_checkpoint``), and the second one's config dump replaces the
first one's.

The fix wraps ``Runner.__init__``: before MMEngine creates anything in ``work_dir``, the
run's rank 0 takes the lock of :mod:`smallbig_mm.utils.lock` (refused with
:class:`~smallbig_mm.utils.lock.WorkDirInUseError` naming the other process; a dead
run's lock is taken over with a warning saying so). ``train``, ``val`` and ``test`` release
it when they return, and so does the process's exit. It applies to this package's tools
and, through the configs' ``custom_imports``, to MMAction2's own ``tools/train.py``.
"""

import atexit
import os
import sys

from mmengine.runner import Runner

from ...utils.lock import acquire_work_dir, release_work_dir
from .wrapping import apply_once, install, is_patched

ISSUE = 'none upstream; behaviour added: two runs can share a work_dir'
RANK_VARIABLES = ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK')


def defect_present() -> bool:
    """MMEngine has no work-dir lock (true of every release so far)."""
    return True


def is_applied() -> bool:
    return is_patched(Runner, '__init__')


def _global_rank() -> int:
    for name in RANK_VARIABLES:
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


def _install() -> None:
    original_init = Runner.__init__

    def __init__(self, model, work_dir, *args, **kwargs):
        self._smallbig_lock = None
        if _global_rank() == 0:
            folder = os.path.abspath(work_dir)
            note = acquire_work_dir(folder)
            if note is not None:
                print(f'warning: {note}', file=sys.stderr, flush=True)
            self._smallbig_lock = folder
            atexit.register(release_work_dir, folder)
        original_init(self, model, work_dir, *args, **kwargs)

    install(Runner, '__init__', __init__)
    for name in ('train', 'val', 'test'):
        _release_after(name)


def _release_after(name: str) -> None:
    original = getattr(Runner, name)

    def run(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            if getattr(self, '_smallbig_lock', None):
                release_work_dir(self._smallbig_lock)

    install(Runner, name, run)


def apply() -> bool:
    """Installs the work-dir lock on ``Runner``. True if done now."""
    return apply_once(defect_present, is_applied, _install)
