"""Training that survives faults: hooks, a resumable loop and runner patches for MMAction2.

Importing this package (``import smallbig_mm.mmaction`` does) registers in MMAction2's
registries:

- hooks: ``RNGStateHook`` (random state in checkpoints), ``ResumeGuardHook`` (never
  resume from a truncated checkpoint), ``NonFiniteLossHook`` (NaN/Inf losses),
  ``ConfigCheckHook`` (config mistakes, bad annotations), ``ProgressBarHook``;
- the loop ``ResumableEpochBasedTrainLoop`` (resume inside an epoch);

and applies patches that do nothing where their defect is absent: atomic local
checkpoint writes (:func:`.checkpoints.enable_atomic_checkpoints`),
``AmpOptimWrapper`` on CPU-only machines and with bfloat16 scores in MMAction2's heads
(:func:`.amp.patch_amp_optim_wrapper`).
``configs/_base_/default_runtime.py`` switches the hooks on for every config.
"""
from mmaction.registry import HOOKS, LOOPS

from ..config_checks import ConfigCheckHook
from .amp import patch_amp_optim_wrapper
from .checkpoints import ResumeGuardHook, atomic_torch_save, enable_atomic_checkpoints
from .loops import ResumableEpochBasedTrainLoop
from .non_finite import NonFiniteLossError, NonFiniteLossHook, guard_optim_wrapper
from .progress import ProgressBarHook
from .rng_state import RNGStateHook, capture_rng_state, restore_rng_state


for _hook in (RNGStateHook, ResumeGuardHook, NonFiniteLossHook, ConfigCheckHook,
              ProgressBarHook):
    HOOKS.register_module(module=_hook)
LOOPS.register_module(module=ResumableEpochBasedTrainLoop)

enable_atomic_checkpoints()
patch_amp_optim_wrapper()

__all__ = [
    'ConfigCheckHook', 'NonFiniteLossError', 'NonFiniteLossHook', 'ProgressBarHook',
    'RNGStateHook', 'ResumableEpochBasedTrainLoop', 'ResumeGuardHook', 'atomic_torch_save',
    'capture_rng_state', 'enable_atomic_checkpoints', 'guard_optim_wrapper',
    'patch_amp_optim_wrapper', 'restore_rng_state',
]
