# Baseline at ResNet-23: 2D blocks only (no big views).
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(block_types=('2d', '2d', '2d', '2d')))
