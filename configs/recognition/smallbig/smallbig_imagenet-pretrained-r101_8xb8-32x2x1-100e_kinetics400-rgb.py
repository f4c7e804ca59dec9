# SmallBig-ResNet-101 on Kinetics-400, 32 frames at interval 2.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py']

# ResNet-101: 23 blocks in res4; ImageNet ResNet-101 weights inflated.
model = dict(backbone=dict(depth=101, pretrained='torchvision://resnet101'))

# 32 frames at interval 2: the 64-frame span of 8x8x1, sampled four times as densely.
# Only the frame sampler of each pipeline changes.
train_pipeline = [
    dict(step, clip_len=32, frame_interval=2) if step.type == 'SampleFrames' else step
    for step in _base_.train_pipeline
]
val_pipeline = [
    dict(step, clip_len=32, frame_interval=2) if step.type == 'SampleFrames' else step
    for step in _base_.val_pipeline
]
test_pipeline = [
    dict(step, clip_len=32, frame_interval=2) if step.type == 'SampleFrames' else step
    for step in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
