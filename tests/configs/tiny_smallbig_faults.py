# The tiny config plus fault injection (tests/reliability_plugin.py; run with
# PYTHONPATH=tests). Tests set the faults with --cfg-options custom_hooks.4.<arg>=...
_base_ = ['./tiny_smallbig_motion.py']

custom_imports = dict(
    imports=['smallbig_mm.mmaction', 'reliability_plugin'], allow_failed_imports=False
)
custom_hooks = _base_.custom_hooks + [dict(type='FaultInjectionHook')]
# Randomness and a schedule that resumes must continue exactly: dropout (torch's
# generator), Flip (numpy's), an lr that changes every iteration.
model = dict(cls_head=dict(dropout_ratio=0.5))
param_scheduler = [dict(type='LinearLR', start_factor=0.25, by_epoch=False, begin=0, end=4)]
