# Baseline at ResNet-23: 3x1x1 temporal conv1 in res4-res5 (SlowOnly-like).
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(block_types=('2d', '2d', '3d', '3d')))
