# Reference of the ablations: SmallBig-ResNet-23 ([1, 2, 3, 1] blocks) from scratch,
# big views on conv1/conv2/conv3 of every res3-res5 block.
_base_ = ['../smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(depth=23, pretrained=None))
