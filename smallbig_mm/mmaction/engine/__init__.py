"""Training that survives faults: hooks, a resumable loop and runner patches for MMAction2.

Importing this package (``import smallbig_mm.mmaction`` does) registers in MMAction2's
registries:

- hooks: ``RNGStateHook`` (random state in checkpoints), ``ResumeGuardHook`` (never
  resume from a truncated checkpoint), ``NonFiniteLossHook`` (NaN/Inf losses),
  ``ConfigCheckHook`` (config mistakes, bad annotations), ``ProgressBarHook``;
- the loop ``ResumableEpochBasedTrainLoop`` (resume inside an epoch);

It patches nothing: the runner fixes (atomic checkpoint writes, ``AmpOptimWrapper`` on
CPU-only machines, bfloat16 scores in the heads) are stack patches in
:mod:`smallbig_mm.mmaction.patches`, applied by ``import smallbig_mm.mmaction``.
``configs/_base_/default_runtime.py`` switches the hooks on for every config.
"""

from mmaction.registry import HOOKS, LOOPS

from ..config_checks import ConfigCheckHook
from ..patches.atomic_checkpoints import apply as enable_atomic_checkpoints
from ..patches.atomic_checkpoints import atomic_torch_save
from ..patches.cpu_amp import apply as patch_amp_optim_wrapper
from .checkpoints import ResumeGuardHook
from .loops import ResumableEpochBasedTrainLoop
from .non_finite import NonFiniteLossError, NonFiniteLossHook, guard_optim_wrapper
from .progress import ProgressBarHook
from .rng_state import RNGStateHook, capture_rng_state, restore_rng_state

for _hook in (RNGStateHook, ResumeGuardHook, NonFiniteLossHook, ConfigCheckHook, ProgressBarHook):
    HOOKS.register_module(module=_hook)
LOOPS.register_module(module=ResumableEpochBasedTrainLoop)

__all__ = [
    'ConfigCheckHook',
    'NonFiniteLossError',
    'NonFiniteLossHook',
    'ProgressBarHook',
    'RNGStateHook',
    'ResumableEpochBasedTrainLoop',
    'ResumeGuardHook',
    'atomic_torch_save',
    'capture_rng_state',
    'enable_atomic_checkpoints',
    'guard_optim_wrapper',
    'patch_amp_optim_wrapper',
    'restore_rng_state',
]
