"""smallbig-mm: SmallBigNet (CVPR 2020) video backbones for MMAction2 and timm.

Two entry points:

- ``import smallbig_mm``: the plain-PyTorch core (:class:`SmallBigResNet`) and, when timm
  is installed, the ``smallbig_*`` timm models. It imports nothing of MMEngine,
  MMAction2 or MMCV and changes no global state of torch or timm.
- ``import smallbig_mm.mmaction``: the MMAction2 side. It applies the stack fixes
  (each naming its upstream issue) and registers the backbone, hooks, loop and
  datasets. Configs load it with ``custom_imports``.
"""

import importlib.util

from .models import SmallBigResNet
from .version import __version__

__all__ = ['SmallBigResNet', '__version__']

if importlib.util.find_spec('timm') is not None:
    from . import timm_models  # noqa: F401  (registers the smallbig_* timm models)
