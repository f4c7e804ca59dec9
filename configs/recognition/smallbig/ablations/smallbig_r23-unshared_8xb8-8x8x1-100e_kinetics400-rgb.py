# Unshared big-view weights: every big view has its own conv (more
# parameters; the paper shares the small view's conv).
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(shared_big_weights=False))
