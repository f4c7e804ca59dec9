# Pooling windows: a local 3x3x3 window for conv3 too, instead of
# the global T x 3 x 3.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_kernels=((3, 3, 3), (3, 3, 3), (3, 3, 3))))
