# SmallBig-ResNet-101 on Kinetics-400, 8 frames at interval 8.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py']

# ResNet-101: 23 blocks in res4; ImageNet ResNet-101 weights inflated.
model = dict(backbone=dict(depth=101, pretrained='torchvision://resnet101'))
