# Reference of the ablations: SmallBig-ResNet-23 ([1, 2, 3, 1] blocks) from scratch,
# big views on conv1/conv2/conv3 of every res3-res5 block, on Kinetics-400 with the
# SmallBig-R50 recipe. Every other config of this folder inherits this one and states
# only the axis it changes.
_base_ = [
    '../../../_base_/models/smallbig_r50.py',
    '../../../_base_/datasets/kinetics400.py',
    '../../../_base_/schedules/sgd_cosine_100e.py',
    '../../../_base_/default_runtime.py',
]

model = dict(backbone=dict(depth=23, pretrained=None))
