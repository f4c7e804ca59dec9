# SmallBig-ResNet-50 with the extra unit in every res3-res5 block (the paper's
# "attention" variant): a gated 1x1x1 bottleneck on the block input, zero-initialised.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(extra_stages=(False, True, True, True)))
