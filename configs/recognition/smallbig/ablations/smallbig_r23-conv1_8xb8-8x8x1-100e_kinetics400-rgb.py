# Big view on conv1 (1x1x1) only; conv2 and conv3 keep the small view alone.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_views=(True, False, False)))
