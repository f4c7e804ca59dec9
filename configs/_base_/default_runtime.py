# Runtime shared by every SmallBig config (MMAction2 1.x defaults).
# The plugin: the backbone, the hooks and loop below, the stack fixes (docs/installation.md).
custom_imports = dict(imports=['smallbig_mm.mmaction'], allow_failed_imports=False)
default_scope = 'mmaction'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='auto', max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
)
# Checkpoints are written atomically (smallbig_mm.mmaction.engine). For checkpoints inside long
# epochs: checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000); the
# schedules use ResumableEpochBasedTrainLoop, which resumes such a checkpoint mid-epoch.

# Reliability (docs/reliability.md): random state in checkpoints (exact resumes), never
# resume from a truncated checkpoint, stop on a NaN/Inf loss (action='skip' to skip the
# step instead), config and annotation checks before the first step.
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='ResumeGuardHook'),
    dict(type='NonFiniteLossHook', action='raise'),
    dict(type='ConfigCheckHook'),
]

# nccl on GPUs; without CUDA, smallbig_mm.mmaction.patches falls back to gloo.
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
# Mixed precision: tools/train.py --amp, or
# optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic', optimizer=...)
# float16 with a dynamic loss scaler on GPUs; bfloat16 without loss scaling on CPUs.
load_from = None
resume = False
