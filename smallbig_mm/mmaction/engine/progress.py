"""A progress bar for training, validation and testing in the console.

MMEngine logs a line every ``LoggerHook.interval`` iterations; between those lines a
long epoch or test run shows nothing. :class:`ProgressBarHook` shows the progress of each
training epoch, validation and test run on rank 0 through
:class:`smallbig_mm.utils.progress.Progress`: a tqdm bar on a terminal (``train 3/100:
30%|###  | 120/400 [00:41<01:32, loss 0.6931]``), plain periodic lines in a log file. The
package's tools add it when the console is a terminal (``--progress on`` forces it,
``--progress off`` leaves it out); log lines clear the bar before they print
(:class:`~smallbig_mm.mmaction.console.QuietConsoleFilter`).
"""

import sys
from typing import Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ...utils.progress import Progress


class ProgressBarHook(Hook):
    """Draws a one-line progress bar for each training epoch, validation and test run.

    Example config::

        custom_hooks = [dict(type='ProgressBarHook')]
    """

    priority = 'LOWEST'  # after LoggerHook has printed this iteration's line

    def __init__(self) -> None:
        self.bar: Optional[Progress] = None
        self.main = True

    def before_run(self, runner) -> None:
        self.main = is_main_process()

    def _draw(self, label: str, done: int, total: int, suffix: str = '') -> None:
        if self.bar is None or self.bar.label != label:
            self._finish()
            self.bar = Progress(label, total, sys.stdout, enabled=self.main)
        self.bar.update(done, suffix)

    def _finish(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        suffix = f'loss {float(torch.as_tensor(loss).detach()):.4f}' if loss is not None else ''
        self._draw(
            f'train {runner.epoch + 1}/{runner.max_epochs}',
            batch_idx + 1,
            len(runner.train_dataloader),
            suffix,
        )

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
