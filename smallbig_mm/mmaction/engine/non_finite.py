"""Never train on a NaN or Inf loss: stop with the iteration's name, or skip the step.

:class:`NonFiniteLossHook` guards the runner's optimizer wrapper (``OptimWrapper`` and
``AmpOptimWrapper`` alike) so that every ``update_params`` call checks, before the
optimizer step:

- the loss of this process is finite, and
- the gradients are finite (after DDP's all-reduce they are the same on every rank, so
  all ranks take the same decision even when only one rank's loss was bad). With an
  fp16 loss scaler, overflowing gradients are the scaler's business (it skips those
  steps itself and lowers the scale), so only the loss is checked then.

``action='raise'`` (the default) stops the run with :class:`NonFiniteLossError` naming
the epoch and iteration; the weights are left as they were before the bad step.
``action='skip'`` drops the step (gradients are cleared, the optimizer and its state are
untouched), logs a warning naming the iteration, and stops after
``max_consecutive_skips`` skipped steps in a row, so that a diverged run does not
"train" on for days.
"""

import logging
import types
from typing import Iterable, List, Optional

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from ...utils.errors import UserError

ACTIONS = ('raise', 'skip')


class NonFiniteLossError(UserError, RuntimeError):
    """The loss (or the gradients) of a training step was NaN or Inf."""


def _grads(optim_wrapper: OptimWrapper) -> List[torch.Tensor]:
    return [
        p.grad
        for group in optim_wrapper.optimizer.param_groups
        for p in group['params']
        if p.grad is not None
    ]


def all_finite(tensors: Iterable[torch.Tensor]) -> bool:
    """Whether every element of every tensor is finite (one device sync)."""
    tensors = list(tensors)
    if not tensors:
        return True
    flags = torch.stack([torch.isfinite(t.detach()).all() for t in tensors])
    return bool(flags.all())


def _uses_loss_scaler(optim_wrapper: OptimWrapper) -> bool:
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    return isinstance(optim_wrapper, AmpOptimWrapper) and scaler is not None and scaler.is_enabled()


def _where() -> str:
    """'epoch E, iteration I[, rank R]' of the current training step (1-based)."""
    hub = MessageHub.get_current_instance()
    epoch, iteration = hub.get_info('epoch'), hub.get_info('iter')
    parts = []
    if epoch is not None:
        parts.append(f'epoch {epoch + 1}')
    if iteration is not None:
        parts.append(f'iteration {iteration + 1}')
    if get_world_size() > 1:
        parts.append(f'rank {get_rank()}')
    return ', '.join(parts) or 'an unknown iteration'


class _Guard:
    """The checking ``update_params`` installed on one optimizer wrapper."""

    def __init__(
        self, optim_wrapper: OptimWrapper, action: str, max_consecutive_skips: int
    ) -> None:
        self.optim_wrapper = optim_wrapper
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.consecutive_skips = 0
        self.skipped = 0
        self.bad_loss: Optional[float] = None  # a non-finite loss since the last step

    def update_params(
        self,
        wrapper: OptimWrapper,
        loss: torch.Tensor,
        step_kwargs: Optional[dict] = None,
        zero_kwargs: Optional[dict] = None,
    ) -> None:
        if not bool(torch.isfinite(loss.detach()).all()):
            if self.action == 'raise':  # before backward: nothing of this step is kept
                raise NonFiniteLossError(self._message(f'non-finite loss ({loss.item()})'))
            self.bad_loss = loss.item()
        # backward even on a bad loss: under DDP every rank must join the all-reduce
        wrapper.backward(wrapper.scale_loss(loss))
        if not wrapper.should_update():
            return  # accumulating gradients; a bad loss is remembered until the step
        reason = self._reason(wrapper)
        if reason is None:
            wrapper.step(**(step_kwargs or {}))
            wrapper.zero_grad(**(zero_kwargs or {}))
            self.consecutive_skips = 0
            return
        wrapper.zero_grad(**(zero_kwargs or {}))
        if self.action == 'raise':
            raise NonFiniteLossError(self._message(reason))
        self.skipped += 1
        self.consecutive_skips += 1
        if self.consecutive_skips > self.max_consecutive_skips:
            raise NonFiniteLossError(
                self._message(
                    f'{reason}, and the {self.max_consecutive_skips} steps before it were '
                    f'skipped for the same reason'
                )
            )
        print_log(
            f'{reason} at {_where()}: skipped this optimizer step (weights and '
            f'optimizer state unchanged; {self.skipped} skipped so far)',
            logger='current',
            level=logging.WARNING,
        )

    def _reason(self, wrapper: OptimWrapper) -> Optional[str]:
        """Why this step must not be taken, or None (resets the remembered bad loss)."""
        bad_loss, self.bad_loss = self.bad_loss, None
        if bad_loss is not None:
            return f'non-finite loss ({bad_loss})'
        if not _uses_loss_scaler(wrapper) and not all_finite(_grads(wrapper)):
            return "loss finite here; the gradients are not (another rank's loss, or an overflow)"
        return None

    def _message(self, what: str) -> str:
        return (
            f'{what} at {_where()}: training stopped before the optimizer step, so the '
            f'weights are still finite. Resume from the last checkpoint (--resume) '
            f'after lowering the learning rate or adding gradient clipping '
            f'(optim_wrapper.clip_grad=dict(max_norm=40)), or set '
            f"NonFiniteLossHook(action='skip') to skip such steps."
        )


def guard_optim_wrapper(
    optim_wrapper, action: str = 'raise', max_consecutive_skips: int = 10
) -> List[_Guard]:
    """Installs the check on ``optim_wrapper`` (each member of an ``OptimWrapperDict``).

    Args:
        optim_wrapper: the runner's built optimizer wrapper.
        action: ``'raise'`` or ``'skip'``.
        max_consecutive_skips: with ``'skip'``, how many steps in a row may be skipped
            before the run stops.

    Returns:
        The installed guards (they count the skipped steps).

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        >>> guard, = guard_optim_wrapper(wrapper, action='raise')
        >>> loss = model(torch.ones(1, 2)).sum() * float('nan')
        >>> wrapper.update_params(loss)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        NonFiniteLossError: non-finite loss (nan) at an unknown iteration: training stopped ...
        >>> bool(torch.isfinite(model.weight).all())
        True
    """
    if action not in ACTIONS:
        raise ValueError(f'NonFiniteLossHook action must be one of {ACTIONS}, got {action!r}')
    if not isinstance(max_consecutive_skips, int) or max_consecutive_skips < 0:
        raise ValueError(
            f'max_consecutive_skips must be an int >= 0, got {max_consecutive_skips!r}'
        )
    wrappers = (
        list(optim_wrapper.values())
        if isinstance(optim_wrapper, OptimWrapperDict)
        else [optim_wrapper]
    )
    guards = []
    for wrapper in wrappers:
        guard = _Guard(wrapper, action, max_consecutive_skips)
        wrapper.update_params = types.MethodType(guard.update_params, wrapper)
        guards.append(guard)
    return guards


class NonFiniteLossHook(Hook):
    """Stops (or skips the step) when a training loss is NaN or Inf.

    Args:
        action: ``'raise'`` stops with :class:`NonFiniteLossError` naming the iteration;
            ``'skip'`` skips the optimizer step with a warning.
        max_consecutive_skips: with ``'skip'``, stop after this many skipped steps in a
            row.

    Example config::

        custom_hooks = [dict(type='NonFiniteLossHook', action='skip')]
    """

    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'raise', max_consecutive_skips: int = 10) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook action must be one of {ACTIONS}, got {action!r}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.guards: List[_Guard] = []

    def before_train(self, runner) -> None:
        self.guards = guard_optim_wrapper(
            runner.optim_wrapper, self.action, self.max_consecutive_skips
        )

    @property
    def skipped(self) -> int:
        """Optimizer steps skipped so far in this run."""
        return sum(guard.skipped for guard in self.guards)
