# Stages: SmallBig blocks in res3 only (res2, res4, res5 stay 2D).
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(block_types=('2d', 'smallbig', '2d', '2d')))
