# Big view on conv3 (1x1x1, global temporal window) only.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_views=(False, False, True)))
