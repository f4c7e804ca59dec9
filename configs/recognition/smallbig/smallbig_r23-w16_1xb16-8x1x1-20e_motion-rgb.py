# Quick start: a narrow SmallBig-ResNet-23 (base width 16) learns the built-in
# smooth-vs-shuffled motion data (smallbig_mm.data.motion), which a C2D network
# cannot (see the c2d_ child config). Make the data first:
#     python tools/data/generate_motion.py        # -> data/smallbig_motion
# Both classes hold the same set of frames; only their order differs.
# The clips are videos, like Kinetics-400's: the data settings start from that dataset's
# base (dataset type, data samplers, loader and evaluator structure) and replace its files,
# pipelines and loader sizes. A change to the Kinetics-400 loaders reaches this config.
_base_ = [
    '../../_base_/models/smallbig_r50.py',
    '../../_base_/datasets/kinetics400.py',
    '../../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(depth=23, base_channels=16, pretrained=None),
    cls_head=dict(in_channels=512, num_classes=2),
)  # 16 * 8 (res5 planes) * 4 (expansion)

# dataset settings: 256 training and 128 validation clips of 8 frames, 32 x 32
data_root = 'data/smallbig_motion'
data_root_val = data_root
ann_file_train = f'{data_root}/train.txt'
ann_file_val = f'{data_root}/val.txt'

# Every clip has exactly 8 frames: one clip of 8 consecutive frames is the whole video.
# No crops (the square may sit at the border). Flips keep the frame order, so the label:
# horizontal and vertical flips give four views of each training clip.
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', flip_ratio=0.5, direction='vertical'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = val_pipeline

# Decoding a 32 x 32 clip takes about a millisecond: worker processes would only
# compete with training for the CPU.
# (a name with two leading underscores stays out of the resolved config)
__loader = dict(batch_size=16, num_workers=0, persistent_workers=False)
train_dataloader = dict(
    __loader,
    dataset=dict(
        ann_file=ann_file_train, data_prefix=dict(video=data_root), pipeline=train_pipeline
    ),
)
val_dataloader = dict(
    __loader,
    dataset=dict(
        ann_file=ann_file_val, data_prefix=dict(video=data_root_val), pipeline=val_pipeline
    ),
)
test_dataloader = val_dataloader

# two classes: top-5 would always be 1
val_evaluator = dict(type='AccMetric', metric_options=dict(top_k_accuracy=dict(topk=(1,))))
test_evaluator = val_evaluator

# schedule: Adam, cosine decay per iteration over 20 epochs (16 iterations each)
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=20, val_begin=5, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3, weight_decay=0.0))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=20,
        eta_min=0,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True,
    )
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(
    logger=dict(interval=16), checkpoint=dict(interval=5, max_keep_ckpts=1, save_best='auto')
)
