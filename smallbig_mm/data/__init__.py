"""Data: the built-in smooth-vs-shuffled motion clips and annotation-list checks.

Needs OpenCV (``cv2``) and NumPy; nothing of MMEngine or MMAction2. The MMAction2
dataset classes of this package live in :mod:`smallbig_mm.mmaction.datasets`.
"""
from .motion import (CLASSES, MotionDataPaths, MotionDataset, MotionSettings,
                     generate_motion_dataset, make_clip, render_smooth_clip, shuffle_order,
                     write_mp4)

__all__ = [
    'CLASSES', 'MotionDataPaths', 'MotionDataset', 'MotionSettings', 'generate_motion_dataset',
    'make_clip', 'render_smooth_clip', 'shuffle_order', 'write_mp4',
]
