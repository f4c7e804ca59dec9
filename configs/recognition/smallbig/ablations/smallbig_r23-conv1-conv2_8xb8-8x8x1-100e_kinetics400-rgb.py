# Big views on conv1 and conv2, none on conv3.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(big_views=(True, True, False)))
