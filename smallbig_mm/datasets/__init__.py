"""Datasets: the built-in smooth-vs-shuffled motion data (exported here).

MMAction2 dataset classes of this package live in submodules that import mmaction2 and
are loaded on first use (see :mod:`smallbig_mm.engine`).
"""
from .motion import (CLASSES, MotionDataset, MotionSettings, generate_motion_dataset, make_clip,
                     render_smooth_clip, shuffle_order, write_mp4)

__all__ = [
    'CLASSES', 'MotionDataset', 'MotionSettings', 'generate_motion_dataset', 'make_clip',
    'render_smooth_clip', 'shuffle_order', 'write_mp4',
]
