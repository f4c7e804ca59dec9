# SmallBig-ResNet-101 on Kinetics-400, 32 frames at interval 2.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py']

# ResNet-101: 23 blocks in res4; ImageNet ResNet-101 weights inflated.
model = dict(backbone=dict(depth=101, pretrained='torchvision://resnet101'))
