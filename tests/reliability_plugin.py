"""Fault injection for the reliability tests: SIGKILL at an iteration, NaN losses.

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
    """

    priority = 'LOWEST'

    def __init__(self, kill_after_iter: int = 0, kill_rank: int = -1,
                 nan_iters: Sequence[int] = (), nan_rank: int = -1) -> None:
        self.kill_after_iter = kill_after_iter
        self.kill_rank = kill_rank
        self.nan_iters = set(nan_iters)
        self.nan_rank = nan_rank
        self._handle = None

    @staticmethod
    def _mine(rank: int) -> bool:
        return rank == -1 or rank == get_rank()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.iter + 1 in self.nan_iters and self._mine(self.nan_rank):
            model = getattr(runner.model, 'module', runner.model)
            self._handle = model.cls_head.fc_cls.register_forward_hook(
                lambda module, args, output: output * torch.tensor(float('nan')))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if runner.iter + 1 == self.kill_after_iter and self._mine(self.kill_rank):
            os.kill(os.getpid(), signal.SIGKILL)
