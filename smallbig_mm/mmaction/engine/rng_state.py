"""Random state that survives a resume: saved in checkpoints, restored where it was taken.

MMEngine 0.10.7 saves the model, optimizer, schedulers and message hub in a checkpoint,
but not the random generators (python ``random``, numpy, torch CPU and CUDA). After a
resume, dropout masks, random flips and frame offsets therefore differ from the run that
was interrupted. :class:`RNGStateHook` closes that gap:

- ``before_save_checkpoint``: stores every rank's generator states in
  ``checkpoint['rng_state']`` (gathered from all ranks before rank 0 saves).
- ``after_load_checkpoint`` (only when resuming): keeps them, and points the training
  sampler (and the dataloader workers' seed) at the checkpoint's seed, which MMEngine
  restores only after the dataloader was built with a fresh random seed.
- ``before_train_epoch``: restores them at the point where they were taken (epoch
  checkpoints); :class:`~smallbig_mm.mmaction.engine.loops.ResumableEpochBasedTrainLoop`
  restores them itself after skipping the batches of a mid-epoch checkpoint.
- ``before_val`` / ``after_val``: validation runs on a copy of the state, so the
  training stream does not depend on whether (or how often) a run validated. Without
  this, the epoch after a resume would differ from an uninterrupted run, which
  validated (and so drew from torch's generator) between the checkpoint and that epoch.

States are stored as tensors, ints and tuples only, so the checkpoint still loads with
``torch.load(weights_only=True)``.
"""

import functools
import logging
import random
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from ...compat.mmengine import runner_resumes

RNGState = Dict[str, Any]
CHECKPOINT_KEY = 'rng_state'


def capture_rng_state() -> RNGState:
    """The states of python's, numpy's and torch's global generators in this process.

    Returns:
        ``{'python': tuple, 'numpy': dict, 'torch': ByteTensor[, 'cuda': list]}`` made of
        tensors, ints, floats, strings and tuples (``weights_only``-loadable).

    Example:
        >>> state = capture_rng_state()
        >>> a = torch.rand(1); restore_rng_state(state); b = torch.rand(1)
        >>> bool(a == b)
        True
    """
    numpy_state = np.random.get_state(legacy=False)
    state: RNGState = {
        'python': random.getstate(),
        'numpy': {
            'bit_generator': numpy_state['bit_generator'],
            'key': torch.from_numpy(numpy_state['state']['key'].astype(np.int64)),
            'pos': int(numpy_state['state']['pos']),
            'has_gauss': int(numpy_state['has_gauss']),
            'gauss': float(numpy_state['gauss']),
        },
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: RNGState) -> None:
    """Sets the global generators to a state from :func:`capture_rng_state`."""
    random.setstate(_as_tuples(state['python']))
    numpy_state = state['numpy']
    np.random.set_state(
        {
            'bit_generator': numpy_state['bit_generator'],
            'state': {
                'key': numpy_state['key'].numpy().astype(np.uint32),
                'pos': numpy_state['pos'],
            },
            'has_gauss': numpy_state['has_gauss'],
            'gauss': numpy_state['gauss'],
        }
    )
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _as_tuples(value: Any) -> Any:
    """``random.setstate`` wants tuples; a round trip through some loaders gives lists."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def _checkpoint_hook(runner) -> Optional[CheckpointHook]:
    return next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)


class RNGStateHook(Hook):
    """Saves the random generators in checkpoints and restores them on resume.

    With it, a run that is killed and resumed gives the same losses as a run that was
    never interrupted (same seed, ``deterministic=True`` on CPU): after an epoch
    checkpoint, the re-run epoch repeats its first attempt batch for batch.

    Example config::

        custom_hooks = [dict(type='RNGStateHook')]
    """

    priority = 'VERY_HIGH'  # restore before any other hook of before_train_epoch runs

    def __init__(self) -> None:
        self._pending: Optional[RNGState] = None
        self._gathered: Optional[List[RNGState]] = None
        self._val_state: Optional[RNGState] = None

    # -- saving ---------------------------------------------------------------------
    def _gather_if_saving(self, runner, by_epoch: bool) -> None:
        """All ranks send their states to every rank just before rank 0 saves.

        Runs on every rank (a collective) when the CheckpointHook is about to save, by
        the same rule it applies (every ``interval`` from ``save_begin``, and the last).
        """
        hook = _checkpoint_hook(runner)
        if get_world_size() == 1 or hook is None or hook.by_epoch != by_epoch:
            return
        start = getattr(hook, 'save_begin', 0)
        if by_epoch:
            saves = (
                hook.every_n_epochs(runner, hook.interval, start)
                or hook.save_last
                and hook.is_last_train_epoch(runner)
            )
        else:
            saves = (
                hook.every_n_train_iters(runner, hook.interval, start)
                or hook.save_last
                and hook.is_last_train_iter(runner)
            )
        if saves:
            self._gathered = all_gather_object(capture_rng_state())

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._gather_if_saving(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_saving(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = self._gathered if self._gathered is not None else [capture_rng_state()]
        self._gathered = None
        checkpoint[CHECKPOINT_KEY] = {'world_size': len(states), 'ranks': states}

    # -- resuming -------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not runner_resumes(runner):
            return  # load_from (fine-tuning, testing): keep this run's own random stream
        _use_checkpoint_seed(runner, checkpoint.get('meta', {}).get('seed'))
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            print_log(
                'the checkpoint holds no random state (it was saved without '
                'RNGStateHook): training continues correctly, but dropout and '
                'augmentation draws will differ from an uninterrupted run',
                logger='current',
                level=logging.WARNING,
            )
            return
        rank, world_size = get_rank(), get_world_size()
        if saved['world_size'] != world_size:
            print_log(
                f'the checkpoint holds random states of {saved["world_size"]} '
                f"processes but this run has {world_size}: using rank 0's state",
                logger='current',
                level=logging.WARNING,
            )
            rank = 0
        self._pending = saved['ranks'][rank]

    def take_pending(self) -> Optional[RNGState]:
        """Hands the state of a resumed checkpoint to the caller, who restores it."""
        state, self._pending = self._pending, None
        return state

    def before_train_epoch(self, runner) -> None:
        state = self.take_pending()
        if state is not None:
            restore_rng_state(state)

    # -- validation leaves the training stream alone -----------------------------------
    def before_val(self, runner) -> None:
        self._val_state = capture_rng_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            restore_rng_state(self._val_state)
            self._val_state = None


def _use_checkpoint_seed(runner, seed: Optional[int]) -> None:
    """Makes the already built training dataloader use the checkpoint's seed.

    MMEngine builds the dataloader (sampler and worker seeds) before it reads the seed
    from the checkpoint, so a resume without ``--seed`` would shuffle differently.
    """
    if seed is None:
        return
    loader = runner.train_dataloader
    sampler = getattr(loader, 'sampler', None)
    if getattr(sampler, 'seed', None) not in (None, seed):
        print_log(
            f"resuming: the training sampler uses the checkpoint's seed {seed} "
            f'(it was built with {sampler.seed})',
            logger='current',
            level=logging.INFO,
        )
        sampler.seed = seed
    init_fn = getattr(loader, 'worker_init_fn', None)
    if isinstance(init_fn, functools.partial) and init_fn.keywords.get('seed') not in (None, seed):
        loader.worker_init_fn = functools.partial(
            init_fn.func, *init_fn.args, **{**init_fn.keywords, 'seed': seed}
        )
