# Pooling windows: temporal only (3x1x1; conv3 over all frames, 1x1).
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_kernels=((3, 1, 1), (3, 1, 1), (None, 1, 1))))
