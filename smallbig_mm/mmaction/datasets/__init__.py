"""MMAction2 datasets and transforms of this package (registered on import)."""

from .robust_video import BadVideoError, RobustVideoDataset, SafeDecordInit

__all__ = ['BadVideoError', 'RobustVideoDataset', 'SafeDecordInit']
