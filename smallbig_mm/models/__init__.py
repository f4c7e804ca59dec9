"""Plain-PyTorch SmallBig-ResNet core: no registry, no weight I/O."""

from .bottleneck import BLOCK_TYPES, Bottleneck
from .constants import IMAGENET_MEAN, IMAGENET_STD
from .smallbig_resnet import ARCH_SETTINGS, SmallBigResNet, check_clip
from .units import DEFAULT_BIG_KERNELS, BigView, BigViewPool, DropPath, ExtraUnit

__all__ = [
    'ARCH_SETTINGS',
    'BLOCK_TYPES',
    'DEFAULT_BIG_KERNELS',
    'BigView',
    'BigViewPool',
    'Bottleneck',
    'DropPath',
    'ExtraUnit',
    'IMAGENET_MEAN',
    'IMAGENET_STD',
    'SmallBigResNet',
    'check_clip',
]
