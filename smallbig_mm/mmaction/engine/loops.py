"""An epoch-based training loop that resumes from checkpoints saved inside an epoch.

MMEngine's ``EpochBasedTrainLoop`` always starts an epoch at its first batch. Resumed
from a checkpoint saved every N iterations (``CheckpointHook(by_epoch=False)``), it
would train the batches before the checkpoint a second time and count their iterations
twice (the learning-rate schedule and ``max_iters`` drift). This loop skips exactly the
batches the checkpoint already trained: the sampler order depends only on the seed and
the epoch, so the rest of the epoch sees the same batches as the interrupted run, and
:class:`~smallbig_mm.mmaction.engine.rng_state.RNGStateHook`'s saved random state is restored
after the skip, where it was taken.

Example config::

    train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=100)
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                         interval=500))
"""

import logging
from typing import Iterator

from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from ...compat.mmengine import finish_train_epoch
from ...compat.torch import SingleProcessDataLoaderIter, next_batch_indices
from ..config_checks import check_before_build
from .rng_state import RNGStateHook, restore_rng_state


def skip_batches(batches: Iterator, count: int) -> None:
    """Advances a dataloader iterator by ``count`` batches.

    A single-process iterator only advances its sampler (nothing is loaded or decoded);
    a multi-process one has already sent indices to its workers, so the batches are
    loaded and dropped (the workers' random streams then also match the first run).
    """
    if isinstance(batches, SingleProcessDataLoaderIter):
        for _ in range(count):
            next_batch_indices(batches)  # the batch sampler's next indices, without loading
        return
    for _ in range(count):
        next(batches)


class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that continues a resumed epoch where its checkpoint was saved.

    Takes the arguments of MMEngine's ``EpochBasedTrainLoop``; behaves exactly like it
    unless the run was resumed from a checkpoint saved in the middle of an epoch.

    When the config has a ``ConfigCheckHook``, its checks run here, before the
    dataloader is built: MMEngine builds the datasets before ``before_run``, and an empty
    or unreadable annotation list would fail there first, without its name.
    """

    def __init__(self, runner, dataloader, *args, **kwargs) -> None:
        check_before_build(runner.cfg, training=True)
        super().__init__(runner, dataloader, *args, **kwargs)

    def batches_done_in_epoch(self) -> int:
        """Batches of the current epoch already trained (0 unless resumed mid-epoch).

        All of them for an iteration checkpoint saved at an epoch's last iteration (its
        epoch counter is not yet advanced): the epoch then only ends (``after_train_epoch``).
        """
        done = self.iter - self.epoch * len(self.dataloader)
        if not 0 <= done <= len(self.dataloader):
            raise RuntimeError(
                f'cannot resume: the checkpoint is at iteration {self.iter}, epoch '
                f'{self.epoch}, which does not fit {len(self.dataloader)} batches per '
                f'epoch. Did the dataset, batch size or number of processes change since '
                f'it was saved? Resume with the same settings.'
            )
        return done

    def run_epoch(self) -> None:
        """Runs the rest of the current epoch (all of it, unless resumed mid-epoch)."""
        done = self.batches_done_in_epoch()
        rng_hook = next((h for h in self.runner.hooks if isinstance(h, RNGStateHook)), None)
        pending = rng_hook.take_pending() if rng_hook is not None and done else None
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        batches = iter(self.dataloader)
        if done:
            print_log(
                f'resuming inside epoch {self.epoch + 1}: skipping its first {done} '
                f'batches, which the checkpoint already trained',
                logger='current',
                level=logging.INFO,
            )
            skip_batches(batches, done)
            if pending is not None:
                restore_rng_state(pending)
        for idx, data_batch in enumerate(batches, start=done):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        finish_train_epoch(self)
