# The C2D baseline of the quick start: the same network with 2D blocks only
# (frame-wise convs, then a temporal average). It sees the set of frames, not their
# order, so on the smooth-vs-shuffled motion data it stays at chance (50%).
_base_ = ['./smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py']

model = dict(backbone=dict(block_types=('2d', '2d', '2d', '2d')))
