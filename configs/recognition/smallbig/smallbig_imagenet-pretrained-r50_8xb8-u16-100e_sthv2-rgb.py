# SmallBig-ResNet-50 on Something-Something V2: 16 segments, one frame each.
_base_ = ['./smallbig_imagenet-pretrained-r50_8xb8-u8-100e_sthv2-rgb.py']

# 16 segments instead of 8: only the sampler of each pipeline changes.
train_pipeline = [
    dict(step, clip_len=16) if step.type == 'UniformSample' else step
    for step in _base_.train_pipeline
]
val_pipeline = [
    dict(step, clip_len=16) if step.type == 'UniformSample' else step
    for step in _base_.val_pipeline
]
test_pipeline = [
    dict(step, clip_len=16) if step.type == 'UniformSample' else step
    for step in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
