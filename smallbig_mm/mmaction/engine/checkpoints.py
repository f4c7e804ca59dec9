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
from typing import Any, List, Mapping, Optional, Tuple

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from ...compat.mmengine import runner_load_from, runner_resumes, set_runner_load_from
from ...utils.files import remove_stale_temporaries
from ...weights import CheckpointError, read_checkpoint
from ...weights.loading import fit_state_dict

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
    paths = [
        p
        for p in glob.glob(osp.join(work_dir, '*.pth'))
        if CHECKPOINT_PATTERN.match(osp.basename(p))
    ]
    return sorted(paths, key=lambda p: (os.path.getmtime(p), p), reverse=True)


def newest_readable(
    paths: List[str],
    exclude: Tuple[str, ...] = (),
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
    """The path in ``work_dir/last_checkpoint`` (written by CheckpointHook), if any.

    Always a file of ``work_dir``: a record naming another folder (the work dir was
    copied or moved) is mapped to the file of the same name here.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        path = f.read().strip()
    if path and osp.realpath(osp.dirname(path)) != osp.realpath(work_dir):
        # a copied or moved work dir: its record still names the original folder's file,
        # which belongs to another run (other weights, other random state)
        local = osp.join(work_dir, osp.basename(path))
        print_log(
            f'last_checkpoint names {path}, outside {work_dir} (a copied or moved work '
            f"dir?); resuming from this work dir's own {osp.basename(path)} instead",
            logger='current',
            level=logging.WARNING,
        )
        return local
    return path or None


def _remove_stale_temporaries(work_dir: str) -> None:
    """Removes ``.*.pth.tmp-<pid>`` files left by saves that were killed."""
    for tmp in remove_stale_temporaries(work_dir, '*.pth'):
        print_log(
            f'removing {tmp}: an unfinished checkpoint save of a killed run',
            logger='current',
            level=logging.INFO,
        )


def auto_resume_target(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume auto`` should use (None: train from scratch)."""
    recorded = _latest_recorded(work_dir)
    candidates = list_checkpoints(work_dir)
    if recorded is not None:
        candidates = [recorded] + [p for p in candidates if osp.abspath(p) != osp.abspath(recorded)]
    if not candidates:
        return None
    if recorded is not None and not osp.isfile(recorded):
        print_log(
            f'last_checkpoint names {recorded}, which does not exist; looking '
            f'for other checkpoints in {work_dir}',
            logger='current',
            level=logging.WARNING,
        )
        candidates = candidates[1:]
    path, problems = newest_readable(candidates)
    if path is None:
        listing = '; '.join(problems) or '(none)'
        raise CheckpointError(
            f'--resume auto: no readable checkpoint in {work_dir}: {listing}. '
            f'Delete the broken files to start from scratch, or resume from a copy.'
        )
    for problem in problems:
        print_log(
            f'skipping an unreadable checkpoint: {problem}', logger='current', level=logging.WARNING
        )
    if problems:
        print_log(
            f'resuming from {path}, the newest readable checkpoint',
            logger='current',
            level=logging.WARNING,
        )
    return path


class ResumeGuardHook(Hook):
    """Checks the checkpoint to resume or load from before MMEngine unpickles it.

    - ``--resume`` / ``--resume auto`` (``resume=True, load_from=None``): if the latest
      checkpoint is unreadable (truncated, empty, corrupt), warns with its name and the
      reason and resumes from the newest readable ``epoch_*.pth`` / ``iter_*.pth`` of
      the work directory instead; if none is readable, stops and lists them.
    - ``--resume PATH`` or ``load_from=PATH``: an unreadable file stops the run with a
      :class:`CheckpointError` naming it and the newest readable alternative.
    - After MMEngine reads the file and before it loads anything
      (``after_load_checkpoint``), a resume needs the training state (``meta``,
      ``message_hub``, ``optimizer``, schedulers) and an optimizer state of the configured
      optimizer. (The weights' fit is checked for every config, with or without this
      hook, by :mod:`smallbig_mm.mmaction.patches.checkpoint_fit`.)
    - A checkpoint saved inside an epoch is refused by a plain ``EpochBasedTrainLoop``
      (which would re-train the epoch's first batches); the error names the fix.

    Example config::

        custom_hooks = [dict(type='ResumeGuardHook')]
    """

    priority = 'HIGHEST'  # checks the checkpoint before any other hook sees it

    def before_run(self, runner) -> None:
        if is_main_process():
            _remove_stale_temporaries(runner.work_dir)
        resume, load_from = runner_resumes(runner), runner_load_from(runner)
        if resume and load_from is None:
            set_runner_load_from(runner, auto_resume_target(runner.work_dir))
        elif load_from is not None and '://' not in load_from:  # local files only
            self._check_explicit(load_from, 'resume from' if resume else 'load')

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
            hint = (
                f'The newest readable checkpoint there is {good}: use --resume {good} '
                f'(or --resume auto, which skips unreadable checkpoints).'
            )
        raise CheckpointError(f'cannot {action} {problem}. {hint}')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Checks a resume's training state before MMEngine restores any of it.

        The file must hold ``meta`` with epoch and iteration, ``message_hub``,
        ``optimizer``, schedulers, and an optimizer state of the configured optimizer; a
        checkpoint saved inside an epoch needs a loop that can continue there. Raises a
        one-line :class:`CheckpointError` otherwise; nothing is loaded or written then.
        The weights themselves are fitted when MMEngine loads them
        (:mod:`smallbig_mm.mmaction.patches.checkpoint_fit`).
        """
        if not runner_resumes(runner):
            return
        source = runner_load_from(runner) or 'the checkpoint'
        check_training_state(checkpoint, source, bool(runner.param_schedulers))
        check_optimizer_state(checkpoint['optimizer'], runner.optim_wrapper, source)
        loop = runner.train_loop
        meta = checkpoint['meta']
        epoch, iteration = meta.get('epoch', 0), meta.get('iter', 0)
        per_epoch = len(loop.dataloader) if hasattr(loop, 'dataloader') else 0
        mid_epoch = per_epoch and iteration != epoch * per_epoch
        if mid_epoch and type(loop) is EpochBasedTrainLoop:
            raise CheckpointError(
                f'this checkpoint was saved inside epoch {epoch + 1} (iteration {iteration}, '
                f'{per_epoch} per epoch), but EpochBasedTrainLoop restarts an epoch at its '
                f'first batch and would train {iteration - epoch * per_epoch} batches twice. '
                f"Set train_cfg.type='ResumableEpochBasedTrainLoop' (smallbig_mm), which "
                f"skips them (this package's configs declare it)."
            )


def check_training_state(checkpoint: Mapping[str, Any], source: str, has_schedulers: bool) -> None:
    """Refuses (one line) to resume from a file without the state a resume restores.

    A weights-only file (``tools/convert_checkpoint.py``'s output, a released model) has
    no ``meta`` (epoch, iteration), ``message_hub`` or ``optimizer``; MMEngine would stop
    with ``KeyError: 'meta'`` or, without an optimizer entry, silently restart the
    optimizer.
    """
    meta = checkpoint.get('meta')
    lacking = []
    if not isinstance(meta, Mapping) or not {'epoch', 'iter'} <= set(meta):
        lacking.append('meta (epoch, iter)')
    for key in ('message_hub', 'optimizer'):
        if key not in checkpoint:
            lacking.append(key)
    if has_schedulers and 'param_schedulers' not in checkpoint:
        lacking.append('param_schedulers')
    if lacking:
        raise CheckpointError(
            f'{source}: cannot resume from it: it has no training state ({", ".join(lacking)} '
            'missing), so it holds weights only (e.g. a tools/convert_checkpoint.py output '
            'or a released model). --resume continues a run from a checkpoint that run saved '
            '(work_dir/epoch_N.pth or iter_N.pth); to start training from these weights use '
            f'load_from (--cfg-options load_from={source}) without --resume'
        )


def _group_settings(group: Mapping[str, Any]) -> set:
    return set(group) - {'params', 'initial_lr'}


def check_resume_file(cfg) -> None:
    """Refuses a ``--resume`` checkpoint before the runner exists, so nothing is written.

    MMEngine's ``Runner`` creates the log folder and copies the config into the work dir
    as it is built; :class:`ResumeGuardHook` runs later. For ``resume=True`` (a local
    ``load_from``, or :func:`auto_resume_target`), this reads the file through the guarded
    reader and applies the hook's
    first two checks: training state present (:func:`check_training_state`) and weights
    that fit ``cfg.model`` exactly (:func:`~smallbig_mm.weights.loading.fit_state_dict`).
    The optimizer state is still checked by the hook.

    Raises:
        CheckpointError: one line naming the file and what differs.
    """
    if not cfg.get('resume'):
        return
    path = cfg.get('load_from') or auto_resume_target(cfg.work_dir)
    if not path or '://' in path:
        return
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    from ...weights import read_raw_checkpoint

    try:
        checkpoint = read_raw_checkpoint(path)
    except CheckpointError:
        return  # an unreadable file: the hook names it, and the newest readable one, in the log
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{path}: holds a {type(checkpoint).__name__}, not a checkpoint')
    check_training_state(checkpoint, path, bool(cfg.get('param_scheduler')))
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    fit_state_dict(checkpoint.get('state_dict', {}), model.state_dict(), path, type(model).__name__)


def check_optimizer_state(saved: Any, optim_wrapper: Any, source: str) -> None:
    """Refuses (one line) an optimizer state of another optimizer or parameter grouping.

    Compares the saved state with the configured optimizer: the settings of each
    parameter group (another optimizer type has other ones: ``momentum`` for SGD,
    ``betas`` for Adam), the number of groups and of parameters in each, and the shape of
    every per-parameter state tensor. Only plain ``OptimWrapper``-style states (one
    optimizer) are checked; an ``OptimWrapperDict`` is left to MMEngine.
    """
    optimizer = getattr(optim_wrapper, 'optimizer', None)
    if optimizer is None or not isinstance(saved, Mapping) or 'param_groups' not in saved:
        return
    fix = (
        'resume with the optimizer and paramwise_cfg of the run that saved it '
        '(optim_wrapper in the config), or start from its weights with load_from'
    )
    groups, saved_groups = optimizer.param_groups, saved['param_groups']
    if len(groups) != len(saved_groups) or any(
        len(g['params']) != len(s['params']) for g, s in zip(groups, saved_groups)
    ):
        raise CheckpointError(
            f'{source}: cannot resume from it: its optimizer state has '
            f'{len(saved_groups)} parameter groups of '
            f'{[len(s["params"]) for s in saved_groups]} parameters, the configured '
            f'{type(optimizer).__name__} {len(groups)} of {[len(g["params"]) for g in groups]}; '
            + fix
        )
    for group, saved_group in zip(groups, saved_groups):
        if _group_settings(group) != _group_settings(saved_group):
            only_saved = sorted(_group_settings(saved_group) - _group_settings(group))
            only_now = sorted(_group_settings(group) - _group_settings(saved_group))
            raise CheckpointError(
                f'{source}: cannot resume from it: its optimizer state was saved by another '
                f'optimizer than the configured {type(optimizer).__name__} (settings only in '
                f'the checkpoint: {", ".join(only_saved) or "none"}; only in '
                f'{type(optimizer).__name__}: {", ".join(only_now) or "none"}); ' + fix
            )
    params = [p for group in groups for p in group['params']]
    for index, state in saved.get('state', {}).items():
        if not isinstance(index, int) or not 0 <= index < len(params):
            continue
        for name, value in state.items():
            if (
                isinstance(value, torch.Tensor)
                and value.ndim > 0
                and value.shape != params[index].shape
            ):
                raise CheckpointError(
                    f'{source}: cannot resume from it: optimizer state {name!r} of parameter '
                    f'{index} has shape {tuple(value.shape)}, the parameter '
                    f'{tuple(params[index].shape)}; ' + fix
                )
