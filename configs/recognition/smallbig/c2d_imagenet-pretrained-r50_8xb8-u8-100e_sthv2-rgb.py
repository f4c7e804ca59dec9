# Baseline: C2D ResNet-50 on Something-Something V2, the SmallBig network without big views.
# Frame-wise 2D blocks everywhere and a temporal average in the head: it sees the set of
# frames, not their order. Same data, recipe and ImageNet start as SmallBig.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-u8-100e_sthv2-rgb.py']

model = dict(backbone=dict(block_types=('2d', '2d', '2d', '2d')))
