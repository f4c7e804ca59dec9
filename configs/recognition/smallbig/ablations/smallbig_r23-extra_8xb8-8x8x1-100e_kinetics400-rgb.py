# The extra unit in every res3-res5 block, on top of the SmallBig blocks.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(extra_stages=(False, True, True, True)))
