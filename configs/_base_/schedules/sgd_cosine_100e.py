# The reference recipe (docs/architecture.md): SGD lr 0.01 for batch 64, momentum 0.9,
# weight decay 1e-4, cosine over 100 epochs, no warm-up.
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=100, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, eta_min=0, by_epoch=True, begin=0, end=100)
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2),
)

# lr 0.01 is for 8 GPUs x 8 clips; --auto-scale-lr rescales it for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=64)
