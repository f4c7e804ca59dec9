# Baseline: 3D ResNet-50 on Kinetics-400, SlowOnly-like: conv1 of every res4/res5
# block is 3x1x1 (inflated from ImageNet: the 2D kernel repeated over time, divided by 3).
# This is the architecture of MMAction2's SlowOnly-R50 (32.45M parameters at 400
# classes), built from the SmallBig backbone. Same data, recipe and ImageNet start as SmallBig.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(block_types=('2d', '2d', '3d', '3d')))
