"""smallbig-mm: SmallBigNet (CVPR 2020) video backbones for MMAction2 and timm.

Importing the package applies the stack's compat fixes (:mod:`smallbig_mm.compat`),
registers the ``SmallBigResNet`` backbone in MMAction2's MODELS and the reliability
hooks, loop and ``RobustVideoDataset`` (:mod:`smallbig_mm.engine`; when mmaction2 is
installed) and the ``smallbig_*`` timm models (when timm is installed).
"""
import importlib.util

from . import compat
from .models import SmallBigResNet

__version__ = '0.1.0'
__all__ = ['SmallBigResNet', '__version__']

compat.apply_all()

if importlib.util.find_spec('mmaction') is not None:
    from .mmaction_backbone import SmallBigResNetBackbone  # noqa: F401  (registers)
    from . import engine  # noqa: F401  (reliability hooks, resumable loop; docs/reliability.md)
    __all__.append('SmallBigResNetBackbone')

if importlib.util.find_spec('timm') is not None:
    from . import smallbig_timm  # noqa: F401  (registers the timm models)
