# Pooling windows: 5x5x5 for conv1/conv2, T x 5 x 5 for conv3.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_kernels=((5, 5, 5), (5, 5, 5), (None, 5, 5))))
