# Fine-tuning a Kinetics-400 model on a small dataset (UCF101, HMDB51): the reference
# recipe's SGD (momentum 0.9, weight decay 1e-4, gradient clipping) at a tenth of its
# learning rate, 0.001 for batch 64, cosine over 30 epochs, validation every epoch.
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=30, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=30, eta_min=0, by_epoch=True, begin=0, end=30)
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2),
)

# lr 0.001 is for 8 GPUs x 8 clips; --auto-scale-lr rescales it for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=64)
