"""smallbig-mm: SmallBigNet (CVPR 2020) video backbones for MMAction2 and timm."""
__version__ = '0.1.0'
