"""Training that survives faults: hooks, a resumable loop and runner patches for MMAction2.

Importing this package (``import smallbig_mm`` does, when mmaction2 is installed)
registers in MMAction2's registries:

- hooks: ``RNGStateHook`` (random state in checkpoints), ``ResumeGuardHook`` (never
  resume from a truncated checkpoint), ``NonFiniteLossHook`` (NaN/Inf losses),
  ``ConfigCheckHook`` (config mistakes, bad annotations), ``ProgressBarHook``;
- the loop ``ResumableEpochBasedTrainLoop`` (resume inside an epoch);
- ``RobustVideoDataset`` and ``SafeDecordInit`` (bad videos and annotation lines), on
  first use;

and applies patches that do nothing where their defect is absent: atomic local
checkpoint writes (:func:`.checkpoints.enable_atomic_checkpoints`),
``AmpOptimWrapper`` on CPU-only machines and with bfloat16 scores in MMAction2's heads
(:func:`.amp.patch_amp_optim_wrapper`).
``configs/_base_/default_runtime.py`` switches the hooks on for every config.
"""
import importlib

from mmaction.registry import DATASETS, HOOKS, LOOPS, TRANSFORMS

from ..config_checks import ConfigCheckHook
from .amp import patch_amp_optim_wrapper
from .checkpoints import ResumeGuardHook, atomic_torch_save, enable_atomic_checkpoints
from .loops import ResumableEpochBasedTrainLoop
from .non_finite import NonFiniteLossError, NonFiniteLossHook, guard_optim_wrapper
from .progress import ProgressBarHook
from .rng_state import RNGStateHook, capture_rng_state, restore_rng_state


def register_on_first_use(module: str) -> None:
    """Registers ``module``'s datasets and transforms when MMAction2 first looks them up.

    ``smallbig_mm.datasets.robust_video`` imports ``mmaction.datasets`` (1.3 s here),
    which ``import smallbig_mm`` should not pay for. MMEngine registries import their
    ``locations`` on the first lookup; the module joins those of MMAction2's DATASETS and
    TRANSFORMS, or is imported now if a lookup already happened (or the registry
    lacks the mechanism).
    """
    registries = (DATASETS, TRANSFORMS)
    if all(isinstance(getattr(r, '_locations', None), list) and
           not getattr(r, '_imported', True) for r in registries):
        for registry in registries:
            registry._locations.append(module)
    else:
        importlib.import_module(module)


register_on_first_use('smallbig_mm.datasets.robust_video')
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
    'patch_amp_optim_wrapper', 'register_on_first_use', 'restore_rng_state',
]
