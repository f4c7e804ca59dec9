"""Work-arounds for defects of the mmaction2 1.2.0 / mmengine 0.10.7 / torch 2.x stack.

One module per defect. Each names its upstream issue (``ISSUE``) or says plainly that it
is a behaviour this package adds, checks that the defect is present
(``defect_present()``), does nothing otherwise, and is idempotent (``apply()`` returns
True only when it changed something). :func:`apply_all` applies the stack fixes in
order; ``import smallbig_mm.mmaction`` calls it, so MMAction2's own tools get them too
through the configs' ``custom_imports``. ``import smallbig_mm`` applies none.

=========================  ===========================================================
module                     defect
=========================  ===========================================================
:mod:`.missing_drn`        the 1.2.0 wheel lacks ``localizers/drn`` (mmaction2#2714)
:mod:`.mmengine_checkpoints`  local reads bypass the guarded reader (mmengine#1655)
:mod:`.checkpoint_fit`     (added) loads into SmallBig models: fit check, not strict=False
:mod:`.cpu_distributed`    ``--launcher pytorch`` without CUDA (set_device, device_ids)
:mod:`.cpu_amp`            ``AmpOptimWrapper`` asserts an accelerator
:mod:`.bf16_head`          heads call ``.numpy()`` on bfloat16 scores
:mod:`.atomic_checkpoints` (added) checkpoints written in place, not atomically
:mod:`.work_dir_lock`      (added) two runs can share a work_dir
:mod:`.new_logger_callback`  (added, by the tools only) console filter on new MMLoggers
:mod:`.editable_installs`  (by the tools only) ``pkg::`` bases of an editable install
=========================  ===========================================================
"""

from typing import List

from . import (
    atomic_checkpoints,
    bf16_head,
    checkpoint_fit,
    cpu_amp,
    cpu_distributed,
    editable_installs,
    missing_drn,
    mmengine_checkpoints,
    new_logger_callback,
    work_dir_lock,
)

STACK_FIXES = (
    missing_drn,
    mmengine_checkpoints,
    checkpoint_fit,
    cpu_distributed,
    cpu_amp,
    bf16_head,
    atomic_checkpoints,
    work_dir_lock,
)
"""The patches :func:`apply_all` applies, in order (``missing_drn`` before anything
imports ``mmaction.models``)."""


def patch_name(module) -> str:
    """``'missing_drn'`` for :mod:`.missing_drn`."""
    return module.__name__.rsplit('.', 1)[1]


def apply_all() -> List[str]:
    """Applies every stack fix whose defect is present.

    Returns:
        The names of the fixes in place after the call (applied now or before), in
        order. Fixes whose defect is absent are not listed.
    """
    for fix in STACK_FIXES:
        fix.apply()
    return [patch_name(fix) for fix in STACK_FIXES if fix.is_applied()]


__all__ = [
    'STACK_FIXES',
    'apply_all',
    'patch_name',
    'atomic_checkpoints',
    'bf16_head',
    'checkpoint_fit',
    'cpu_amp',
    'cpu_distributed',
    'editable_installs',
    'missing_drn',
    'mmengine_checkpoints',
    'new_logger_callback',
    'work_dir_lock',
]
