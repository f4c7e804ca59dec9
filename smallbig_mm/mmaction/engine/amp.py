"""Old home of the AMP fixes, kept for code that imports these names.

The fixes are stack patches now: :mod:`smallbig_mm.mmaction.patches.cpu_amp`
(``AmpOptimWrapper`` on machines without an accelerator) and
:mod:`smallbig_mm.mmaction.patches.bf16_head` (bfloat16 scores in MMAction2's heads),
both applied by ``import smallbig_mm.mmaction``.
"""

from ..patches.bf16_head import apply as fix_bfloat16_head_accuracy
from ..patches.cpu_amp import CPU_AMP_DTYPES, cpu_autocast_dtype, has_accelerator
from ..patches.cpu_amp import apply as patch_amp_optim_wrapper

__all__ = [
    'CPU_AMP_DTYPES',
    'cpu_autocast_dtype',
    'fix_bfloat16_head_accuracy',
    'has_accelerator',
    'patch_amp_optim_wrapper',
]
