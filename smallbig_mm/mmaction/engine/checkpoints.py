"""Checkpoints that are never half written, and resumes that never start from a broken one.

Two defences against a run killed while it saves, a full disk, or a copy cut short:

- :mod:`smallbig_mm.mmaction.patches.atomic_checkpoints` (applied by
  ``import smallbig_mm.mmaction``) makes ``Runner.save_checkpoint`` write local files to
  a temporary name beside the target, ``fsync`` them and rename them into place: a
  checkpoint file is either complete or absent (MMEngine 0.10.7 writes in place).
- :class:`ResumeGuardHook` reads the checkpoint a run is about to resume from (or load)
  before MMEngine does. A truncated or corrupt file is named; with ``--resume auto`` the
  newest readable checkpoint in the work directory is used instead (with a warning);
  with an explicit path, the run stops with a :class:`~smallbig_mm.weights.CheckpointError`
  that names the file and suggests the newest readable one, never with a bare
  unpickling traceback. It also refuses to resume a checkpoint saved inside an epoch
  with a loop that would re-train that epoch's first batches.
"""
import glob
import logging
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from ...utils.files import TMP_MARK
from ...weights import CheckpointError, read_checkpoint
from ..patches.atomic_checkpoints import apply as enable_atomic_checkpoints  # noqa: F401
from ..patches.atomic_checkpoints import atomic_torch_save  # noqa: F401  (old home)

CHECKPOINT_PATTERN = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None if it reads as a full checkpoint."""
    try:
        read_checkpoint(path)
    except CheckpointError as err:
        return str(err)
    return None


def list_checkpoints(work_dir: str) -> List[str]:
    """``epoch_*.pth`` / ``iter_*.pth`` files of ``work_dir``, newest first."""
    paths = [p for p in glob.glob(osp.join(work_dir, '*.pth'))
             if CHECKPOINT_PATTERN.match(osp.basename(p))]
    return sorted(paths, key=lambda p: (os.path.getmtime(p), p), reverse=True)


def newest_readable(paths: List[str], exclude: Tuple[str, ...] = (),
                    ) -> Tuple[Optional[str], List[str]]:
    """The first readable checkpoint of ``paths`` and the problems of those before it."""
    problems = []
    for path in paths:
        if osp.abspath(path) in exclude:
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            return path, problems
        problems.append(problem)
    return None, problems


def _latest_recorded(work_dir: str) -> Optional[str]:
    """The path in ``work_dir/last_checkpoint`` (written by CheckpointHook), if any."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        path = f.read().strip()
    return path or None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours
        return True
    return True


def _remove_stale_temporaries(work_dir: str) -> None:
    """Removes ``.*.pth.tmp-<pid>`` files left by saves that were killed."""
    for tmp in glob.glob(osp.join(work_dir, f'.*.pth{TMP_MARK}*')):
        pid = tmp.rsplit(TMP_MARK, 1)[1].split('.')[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            print_log(f'removing {tmp}: an unfinished checkpoint save of a killed run',
                      logger='current', level=logging.INFO)
            os.remove(tmp)


class ResumeGuardHook(Hook):
    """Checks the checkpoint to resume or load from before MMEngine unpickles it.

    - ``--resume`` / ``--resume auto`` (``resume=True, load_from=None``): if the latest
      checkpoint is unreadable (truncated, empty, corrupt), warns with its name and the
      reason and resumes from the newest readable ``epoch_*.pth`` / ``iter_*.pth`` of
      the work directory instead; if none is readable, stops and lists them.
    - ``--resume PATH`` or ``load_from=PATH``: an unreadable file stops the run with a
      :class:`CheckpointError` naming it and the newest readable alternative.
    - A checkpoint saved inside an epoch is refused by a plain ``EpochBasedTrainLoop``
      (which would re-train the epoch's first batches); the error names the fix.

    Example config::

        custom_hooks = [dict(type='ResumeGuardHook')]
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        if is_main_process():
            _remove_stale_temporaries(runner.work_dir)
        resume, load_from = getattr(runner, '_resume', False), runner._load_from
        if resume and load_from is None:
            runner._load_from = self._auto_resume_target(runner.work_dir)
        elif load_from is not None and '://' not in load_from:  # local files only
            self._check_explicit(load_from, 'resume from' if resume else 'load')

    def _auto_resume_target(self, work_dir: str) -> Optional[str]:
        """The checkpoint ``--resume auto`` should use (None: train from scratch)."""
        recorded = _latest_recorded(work_dir)
        candidates = list_checkpoints(work_dir)
        if recorded is not None:
            candidates = [recorded] + [p for p in candidates
                                       if osp.abspath(p) != osp.abspath(recorded)]
        if not candidates:
            return None
        if recorded is not None and not osp.isfile(recorded):
            print_log(f'last_checkpoint names {recorded}, which does not exist; looking '
                      f'for other checkpoints in {work_dir}', logger='current',
                      level=logging.WARNING)
            candidates = candidates[1:]
        path, problems = newest_readable(candidates)
        if path is None:
            listing = '\n  '.join(problems) or '(none)'
            raise CheckpointError(
                f'--resume auto: no readable checkpoint in {work_dir}:\n  {listing}\n'
                f'Delete the broken files to start from scratch, or resume from a copy.')
        for problem in problems:
            print_log(f'skipping an unreadable checkpoint: {problem}', logger='current',
                      level=logging.WARNING)
        if problems:
            print_log(f'resuming from {path}, the newest readable checkpoint',
                      logger='current', level=logging.WARNING)
        return path

    @staticmethod
    def _check_explicit(path: str, action: str) -> None:
        problem = checkpoint_problem(path)
        if problem is None:
            return
        folder = osp.dirname(osp.abspath(path))
        good, _ = newest_readable(list_checkpoints(folder), exclude=(osp.abspath(path),))
        if good is None:
            hint = f'No other readable checkpoint is in {folder}.'
        elif action == 'load':
            hint = f'The newest readable checkpoint there is {good}.'
        else:
            hint = (f'The newest readable checkpoint there is {good}: use --resume {good} '
                    f'(or --resume auto, which skips unreadable checkpoints).')
        raise CheckpointError(f'cannot {action} {problem}\n{hint}')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        loop = runner.train_loop
        meta = checkpoint.get('meta', {})
        epoch, iteration = meta.get('epoch', 0), meta.get('iter', 0)
        per_epoch = len(loop.dataloader) if hasattr(loop, 'dataloader') else 0
        mid_epoch = per_epoch and iteration != epoch * per_epoch
        if mid_epoch and type(loop) is EpochBasedTrainLoop:
            raise CheckpointError(
                f'this checkpoint was saved inside epoch {epoch + 1} (iteration {iteration}, '
                f'{per_epoch} per epoch), but EpochBasedTrainLoop restarts an epoch at its '
                f'first batch and would train {iteration - epoch * per_epoch} batches twice. '
                f"Set train_cfg.type='ResumableEpochBasedTrainLoop' (smallbig_mm), which "
                f"skips them (this package's configs declare it).")
