"""A progress bar for training, validation and testing in the console.

MMEngine logs a line every ``LoggerHook.interval`` iterations; between those lines a
long epoch or test run shows nothing. :class:`ProgressBarHook` redraws one line after
every iteration (``train 3/100 [#####     ] 120/400 eta 0:03:12 loss 0.6931``) on rank
0. The package's tools add it when the console is a terminal (``--progress on`` forces
it, ``--progress off`` leaves it out); log lines clear it before they print
(:class:`~smallbig_mm.mmaction.console.QuietConsoleFilter`).
"""
from typing import Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ..console import ConsoleBar


class ProgressBarHook(Hook):
    """Draws a one-line progress bar for each training epoch, validation and test run.

    Example config::

        custom_hooks = [dict(type='ProgressBarHook')]
    """

    priority = 'LOWEST'  # after LoggerHook has printed this iteration's line

    def __init__(self) -> None:
        self.bar: Optional[ConsoleBar] = None

    def before_run(self, runner) -> None:
        self.bar = ConsoleBar() if is_main_process() else None

    def _draw(self, label: str, done: int, total: int, suffix: str = '') -> None:
        if self.bar is not None:
            self.bar.update(label, done, total, suffix)

    def _finish(self) -> None:
        if self.bar is not None:
            self.bar.finish()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        suffix = f'loss {float(torch.as_tensor(loss).detach()):.4f}' if loss is not None else ''
        self._draw(f'train {runner.epoch + 1}/{runner.max_epochs}', batch_idx + 1,
                   len(runner.train_dataloader), suffix)

    def after_train_epoch(self, runner) -> None:
        self._finish()

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw('val', batch_idx + 1, len(runner.val_dataloader))

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw('test', batch_idx + 1, len(runner.test_dataloader))

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()
