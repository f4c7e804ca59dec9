# A tiny version of the motion quick start (its data, pipelines and runtime) for
# end-to-end tests of the real runner: base width 4, batches of 4, 2 epochs, a test
# split with multi-view testing. Tests point data_root at their generated data with
# --cfg-options.
_base_ = ['../../configs/recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py']

model = dict(
    backbone=dict(base_channels=4),
    cls_head=dict(in_channels=128, dropout_ratio=0.0),  # 4 * 8 (res5 planes) * 4 (expansion)
    data_preprocessor=dict(mean=[128.0, 128.0, 128.0], std=[64.0, 64.0, 64.0]),
)

# Multi-view testing: 2 clips of 4 frames x 3 crops of 24 x 32 (w x h), cropped after the
# resize and before FormatShape and PackActionInputs.
test_pipeline = [
    dict(step, clip_len=4, num_clips=2) if step.type == 'SampleFrames' else step
    for step in _base_.val_pipeline
]
test_pipeline.insert(-2, dict(type='ThreeCrop', crop_size=(24, 32)))

train_dataloader = dict(batch_size=4)
val_dataloader = dict(batch_size=4)
test_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))

train_cfg = dict(max_epochs=2, val_begin=1, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = []
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=3, save_best=None)
)
log_processor = dict(window_size=1)  # log each iteration's own loss (tests compare them)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
