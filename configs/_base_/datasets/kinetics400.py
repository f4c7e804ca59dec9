# Kinetics-400 (videos, decoded with decord): 8 frames at interval 8, the reference
# sampling of the SmallBig paper. Training: multi-scale crop + flip at 224; validation:
# one centre crop of 224; testing: 10 clips x 3 crops of 256 (30 views).
# Configs with denser sampling (16x4x1, 32x2x1) rewrite only the SampleFrames step of
# these pipelines.
dataset_type = 'VideoDataset'
data_root = 'data/kinetics400/videos_train'
data_root_val = 'data/kinetics400/videos_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_videos.txt'

file_client_args = dict(io_backend='disk')

train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(
        type='MultiScaleCrop',
        input_size=224,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
    ),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
# Testing: 10 clips spread over the video, each in 3 crops of 256 (30 views).
test_pipeline = [
    dict(step, num_clips=10)
    if step['type'] == 'SampleFrames'
    else dict(type='ThreeCrop', crop_size=256)
    if step['type'] == 'CenterCrop'
    else step
    for step in val_pipeline
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        train_dataloader['dataset'],
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root_val),
        pipeline=val_pipeline,
        test_mode=True,
    ),
)
# Testing: the validation videos with the test pipeline, one video (30 views) a batch.
test_dataloader = dict(
    val_dataloader, batch_size=1, dataset=dict(val_dataloader['dataset'], pipeline=test_pipeline)
)

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
