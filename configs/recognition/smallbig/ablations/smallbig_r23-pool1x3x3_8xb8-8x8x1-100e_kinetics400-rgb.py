# Pooling windows: spatial only (1x3x3 everywhere): no temporal context.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_kernels=((1, 3, 3), (1, 3, 3), (1, 3, 3))))
