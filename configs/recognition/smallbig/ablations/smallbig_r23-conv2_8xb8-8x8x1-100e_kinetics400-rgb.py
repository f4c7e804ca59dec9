# Big view on conv2 (1x3x3) only.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_views=(False, True, False)))
