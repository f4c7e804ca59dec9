"""The MMAction2 side of smallbig-mm: ``import smallbig_mm.mmaction``.

Configs load it with
``custom_imports = dict(imports=['smallbig_mm.mmaction'], allow_failed_imports=False)``,
so this project's tools and MMAction2's own behave the same on the same config.
Importing it:

1. applies the stack fixes of :mod:`.patches`, each naming its upstream issue and doing
   nothing where the defect is absent (before anything imports ``mmaction.models``);
2. registers the ``SmallBigResNet`` backbone (:mod:`.backbone`), the reliability hooks and
   the resumable loop (:mod:`.engine`), and ``RobustVideoDataset`` / ``SafeDecordInit``
   (:mod:`.datasets`) and ``SafeDumpResults`` (:mod:`.evaluation`) in MMAction2's
   registries;
3. makes every checkpoint a runner saves record its weights' meaning
   (:mod:`.checkpoint_meta`, ``meta['weights_meta']``).
"""

from .patches import apply_all

APPLIED_PATCHES = apply_all()
"""Names of the stack fixes in place after the import (those whose defect is present)."""

from . import checkpoint_meta  # noqa: E402

checkpoint_meta.apply()  # training checkpoints record their weights' meaning

from . import datasets, engine, evaluation  # noqa: E402,F401  (register)
from .backbone import SmallBigResNet, SmallBigResNetBackbone  # noqa: E402  (registers)

__all__ = ['APPLIED_PATCHES', 'SmallBigResNet', 'SmallBigResNetBackbone']
