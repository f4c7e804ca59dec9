# SmallBig-ResNet-50 on Kinetics-400, 32 frames at interval 2: the 64-frame span of
# 8x8x1, sampled four times as densely. ResNet-101 inherits this config.
_base_ = [
    '../../_base_/models/smallbig_r50.py',
    '../../_base_/datasets/kinetics400.py',
    '../../_base_/schedules/sgd_cosine_100e.py',
    '../../_base_/default_runtime.py',
]

model = dict(backbone=dict(pretrained='torchvision://resnet50', pretrained2d=True))

# The dataset's pipelines with only their frame sampler changed.
train_pipeline, val_pipeline, test_pipeline = (
    [
        dict(step, clip_len=32, frame_interval=2) if step.type == 'SampleFrames' else step
        for step in pipeline
    ]
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline)
)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
