# SmallBig-ResNet-50 on Kinetics-400 (videos), 8 frames at interval 8. The reference
# recipe: 8 GPUs x 8 clips, multi-scale crop + flip in training; 10 clips x 3 crops of
# 256 in testing (_base_/datasets/kinetics400.py). The baselines, the extra-unit variant
# and ResNet-101 inherit this config and change a few keys.
_base_ = [
    '../../_base_/models/smallbig_r50.py',
    '../../_base_/datasets/kinetics400.py',
    '../../_base_/schedules/sgd_cosine_100e.py',
    '../../_base_/default_runtime.py',
]

# ImageNet ResNet-50 inflated into SmallBig-R50 (read from the local torch hub cache).
model = dict(backbone=dict(pretrained='torchvision://resnet50', pretrained2d=True))
