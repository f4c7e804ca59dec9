"""Fault injection for the reliability tests: SIGKILL at an iteration, NaN losses, a full
disk while a checkpoint is saved.

Loaded into training subprocesses with ``custom_imports`` (``PYTHONPATH=tests``) by
``tests/configs/tiny_smallbig_faults.py``, or imported by in-process tests. Not part
of the package: nothing here belongs in a real run.
"""

import os
import signal
from typing import Sequence

import torch
from mmaction.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """Kills this process after an iteration, or makes chosen losses NaN.

    Args:
        kill_after_iter: 1-based global iteration after which the process sends itself
            SIGKILL (after the iteration's log line and any checkpoint); 0: never.
        kill_rank: the rank that dies (-1: every rank).
        nan_iters: 1-based global iterations whose classifier output, hence loss, is NaN.
        nan_rank: the rank whose loss is NaN at those iterations (-1: every rank).
        kill_in_save_iter: 1-based global iteration whose checkpoint save is killed with
            SIGKILL half-way: after the temporary file is written, before its rename
            (needs ``CheckpointHook(by_epoch=False)``); 0: never.
        full_disk_at_epoch: 1-based epoch whose checkpoint ``epoch_N.pth`` meets a full
            disk: its temporary file (``atomic_output``'s name) is made a symbolic link to
            ``/dev/full``, so the kernel answers ENOSPC to the real ``torch.save``; 0: never.
    """

    priority = 'LOWEST'

    def __init__(
        self,
        kill_after_iter: int = 0,
        kill_rank: int = -1,
        nan_iters: Sequence[int] = (),
        nan_rank: int = -1,
        kill_in_save_iter: int = 0,
        full_disk_at_epoch: int = 0,
    ) -> None:
        self.kill_after_iter = kill_after_iter
        self.kill_rank = kill_rank
        self.nan_iters = set(nan_iters)
        self.nan_rank = nan_rank
        self.full_disk_at_epoch = full_disk_at_epoch
        self._handle = None
        if kill_in_save_iter:
            _kill_inside_save(f'iter_{kill_in_save_iter}.pth')

    @staticmethod
    def _mine(rank: int) -> bool:
        return rank == -1 or rank == get_rank()

    def before_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.full_disk_at_epoch:
            name = f'epoch_{self.full_disk_at_epoch}.pth'
            os.symlink('/dev/full', os.path.join(runner.work_dir, f'.{name}.tmp-{os.getpid()}.pth'))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.iter + 1 in self.nan_iters and self._mine(self.nan_rank):
            model = getattr(runner.model, 'module', runner.model)
            self._handle = model.cls_head.fc_cls.register_forward_hook(
                lambda module, args, output: output * torch.tensor(float('nan'))
            )

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if runner.iter + 1 == self.kill_after_iter and self._mine(self.kill_rank):
            os.kill(os.getpid(), signal.SIGKILL)


def _kill_inside_save(name: str) -> None:
    """Makes the runner's atomic save of ``name`` die after writing its temporary file."""
    from smallbig_mm.mmaction.patches import atomic_checkpoints
    from smallbig_mm.utils.files import atomic_output

    original = atomic_checkpoints.atomic_torch_save

    def save(obj, path: str) -> None:
        if os.path.basename(path) != name:
            return original(obj, path)
        with atomic_output(path, force=True) as tmp, open(tmp, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    atomic_checkpoints.atomic_torch_save = save
