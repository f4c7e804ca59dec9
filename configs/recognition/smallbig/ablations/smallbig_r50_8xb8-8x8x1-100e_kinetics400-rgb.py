# R23 vs R50: the same SmallBig network with ResNet-50 depth, also from scratch.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(depth=50))
