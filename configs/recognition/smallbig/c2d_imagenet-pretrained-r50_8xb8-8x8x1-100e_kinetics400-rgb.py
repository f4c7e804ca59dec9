# Baseline: C2D ResNet-50 on Kinetics-400, the SmallBig network without big views.
# Frame-wise 2D blocks everywhere and a temporal average in the head: it sees the set of
# frames, not their order. Same data, recipe and ImageNet start as SmallBig.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(block_types=('2d', '2d', '2d', '2d')))
