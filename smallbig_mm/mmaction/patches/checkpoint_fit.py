"""MMEngine loads any state dict into any model, whatever fits, and warns.

Upstream: no MMEngine issue; a behaviour this package adds. mmengine 0.10.7's
``_load_checkpoint_to_model`` (``mmengine/runner/checkpoint.py``) hands the state dict to
``load_state_dict`` with ``strict=False``, which ``Runner.load_checkpoint`` (``load_from``,
``resume``, the checkpoint of ``tools/test.py``), ``load_checkpoint`` (MMAction2's
``init_recognizer``, ``init_cfg=dict(type='Pretrained')`` of a whole model) and every
tool built on them use. A checkpoint full of NaN, a 2D ResNet-18 or another depth is then
loaded as far as names match, a warning lists the rest, and the run tests or trains on,
exit 0. The checks of this package's hooks only run where a config lists them.

The fix replaces ``_load_checkpoint_to_model`` (in ``mmengine.runner.checkpoint`` and the
copy ``mmengine.runner.runner`` imported) for models that hold a SmallBig-ResNet: their
state dict goes through the weights chain's fit step
(:func:`smallbig_mm.weights.fit_weights`) and loads strictly, with one log line naming
the file and what was dropped. Any other model keeps MMEngine's behaviour. Since a config
needs ``import smallbig_mm.mmaction`` (``custom_imports``) to build ``SmallBigResNet`` at
all, every such config gets the check, with or without the project's runtime and hooks.

The policy comes from what the runner is doing (:func:`runner_policy`): a resume and a
test load exactly; ``load_from`` in training fine-tunes (a classifier for another class
count is dropped and named); ``allow_partial_load=True`` in the config loads what fits.
A model without a classifier (MMAction2's ``tools/misc/clip_feature_extraction.py`` swaps
the head for a ``FeatureHead``) drops the checkpoint's classifier and names it; the rest
must fit exactly.
"""

import contextvars
import re
from collections import OrderedDict
from typing import Any, List, Optional, Tuple

import torch
from mmengine.runner import checkpoint as checkpoint_module
from mmengine.runner import runner as runner_module

from ...compat.mmengine import (
    LOAD_CHECKPOINT,
    LOAD_CHECKPOINT_TO_MODEL,
    runner_resumes,
    runner_train_loop,
)
from .wrapping import apply_once, install, is_patched

ISSUE = 'none upstream; behaviour added: MMEngine loads checkpoints with strict=False'

_SOURCE: contextvars.ContextVar = contextvars.ContextVar('smallbig_checkpoint_source', default=None)
_POLICY: contextvars.ContextVar = contextvars.ContextVar(
    'smallbig_checkpoint_policy', default='exact'
)
_TARGETS = (
    (checkpoint_module, LOAD_CHECKPOINT),
    (runner_module, LOAD_CHECKPOINT),
    (checkpoint_module, LOAD_CHECKPOINT_TO_MODEL),
    (runner_module, LOAD_CHECKPOINT_TO_MODEL),
    (runner_module.Runner, 'load_checkpoint'),
)
"""Where the fix is installed (runner.py holds its own references to the functions)."""


def holds_smallbig(model: torch.nn.Module) -> bool:
    """Whether ``model`` contains a SmallBig-ResNet (the core network or a subclass).

    Example:
        >>> from smallbig_mm.models import SmallBigResNet
        >>> holds_smallbig(torch.nn.Sequential(SmallBigResNet(depth=23, base_channels=8)))
        True
        >>> holds_smallbig(torch.nn.Linear(2, 2))
        False
    """
    from ...models import SmallBigResNet

    return any(isinstance(module, SmallBigResNet) for module in model.modules())


def runner_policy(runner: Any) -> str:
    """The fit policy of what ``runner`` loads now (:data:`~smallbig_mm.weights.loading.POLICIES`).

    ``'exact'`` for a resume and for testing; ``'partial'`` where the config sets
    ``allow_partial_load=True`` (not for a resume); ``'finetune'`` for ``load_from`` in
    training (the train loop is built before MMEngine loads).
    """
    from mmengine.runner.base_loop import BaseLoop

    if runner_resumes(runner):
        return 'exact'
    if bool(runner.cfg.get('allow_partial_load', False)):
        return 'partial'
    return 'finetune' if isinstance(runner_train_loop(runner), BaseLoop) else 'exact'


def _state_dict_of(checkpoint: Any, source: str) -> dict:
    from ...weights import CheckpointError

    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if (
        not isinstance(state, dict)
        or not state
        or not all(isinstance(v, torch.Tensor) for v in state.values())
    ):
        raise CheckpointError(
            f'{source}: holds no state dict (parameter name -> tensor, '
            'possibly under "state_dict"): it is not a model checkpoint'
        )
    return state


def fit_and_load(
    model: torch.nn.Module,
    checkpoint: Any,
    source: Optional[str],
    policy: str,
    revise_keys: List[Tuple[str, str]],
) -> None:
    """Fits ``checkpoint``'s state dict to ``model`` under ``policy`` and loads it strictly.

    Args:
        model: the (unwrapped) model holding a SmallBig-ResNet.
        checkpoint: what MMEngine read (a dict with ``state_dict``, or a state dict).
        source: the file, for messages (None: ``'the checkpoint'``).
        policy: ``'exact'``, ``'finetune'`` or ``'partial'``.
        revise_keys: MMEngine's ``(pattern, replacement)`` key renames (``^module.``).

    Raises:
        CheckpointError: one line naming the file: no state dict, or weights that do not
            fit (shapes, kinds, NaN/Inf) under ``policy``.
    """
    from mmengine.logging import MMLogger

    from ...weights import fit_weights
    from ...weights.pipeline import log_report

    source = source or 'the checkpoint'
    state = _state_dict_of(checkpoint, source)
    for pattern, replacement in revise_keys:
        state = OrderedDict((re.sub(pattern, replacement, k), v) for k, v in state.items())
    fitted, report = fit_weights(state, model, policy=policy, source=source)
    model.load_state_dict(fitted, strict=policy != 'partial')
    log_report(report, MMLogger.get_current_instance())


def defect_present() -> bool:
    """Whether MMEngine loads with ``strict=False`` by default (every 0.10.x release does)."""
    return True


def is_applied() -> bool:
    """Whether MMEngine's loading path is this module's."""
    return all(is_patched(owner, name) for owner, name in _TARGETS)


def _install() -> None:
    read = getattr(checkpoint_module, LOAD_CHECKPOINT)
    to_model = getattr(checkpoint_module, LOAD_CHECKPOINT_TO_MODEL)
    runner_load = runner_module.Runner.load_checkpoint

    def _load_checkpoint(filename, map_location=None, logger=None):
        _SOURCE.set(filename)  # the file the next _load_checkpoint_to_model names
        return read(filename, map_location, logger)

    def _load_checkpoint_to_model(
        model, checkpoint, strict=False, logger=None, revise_keys=[(r'^module\.', '')]
    ):
        source = _SOURCE.get()
        _SOURCE.set(None)
        if not holds_smallbig(model):
            return to_model(model, checkpoint, strict, logger, revise_keys)
        fit_and_load(model, checkpoint, source, _POLICY.get(), revise_keys)
        return checkpoint

    def load_checkpoint(
        self, filename, map_location='cpu', strict=False, revise_keys=[(r'^module.', '')]
    ):
        token = _POLICY.set(runner_policy(self))
        try:
            return runner_load(self, filename, map_location, strict, revise_keys)
        finally:
            _POLICY.reset(token)

    for owner in (checkpoint_module, runner_module):
        install(owner, LOAD_CHECKPOINT, _load_checkpoint)
        install(owner, LOAD_CHECKPOINT_TO_MODEL, _load_checkpoint_to_model)
    install(runner_module.Runner, 'load_checkpoint', load_checkpoint)


def apply() -> bool:
    """Routes MMEngine's loads into SmallBig models through the fit step. True if done now."""
    return apply_once(defect_present, is_applied, _install)
