# SmallBig-ResNet-101 on Kinetics-400, 16 frames at interval 4.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-16x4x1-100e_kinetics400-rgb.py']

# ResNet-101: 23 blocks in res4; ImageNet ResNet-101 weights inflated.
model = dict(backbone=dict(depth=101, pretrained='torchvision://resnet101'))
