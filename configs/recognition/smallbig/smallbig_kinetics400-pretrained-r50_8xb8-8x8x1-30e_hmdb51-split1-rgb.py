# SmallBig-ResNet-50 fine-tuned from Kinetics-400 on HMDB51, split 1 (51 classes); splits 2
# and 3 are the -split2 / -split3 children. The weights: a Kinetics-400 checkpoint of
# smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py (none is released:
# train that config, or give yours with --cfg-options load_from=PATH). Its 400-class
# classifier is dropped, with a message; the 51-class one starts from random weights.
_base_ = [
    '../../_base_/models/smallbig_r50.py',
    '../../_base_/datasets/hmdb51.py',
    '../../_base_/schedules/sgd_cosine_30e_finetune.py',
    '../../_base_/default_runtime.py',
]

model = dict(cls_head=dict(num_classes=51))
load_from = (
    'work_dirs/smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb/epoch_100.pth'
)
