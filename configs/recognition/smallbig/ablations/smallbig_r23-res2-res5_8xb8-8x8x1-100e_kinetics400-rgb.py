# Stages: SmallBig blocks in every stage, res2 included.
_base_ = ['./smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py']

model = dict(backbone=dict(block_types=('smallbig', 'smallbig', 'smallbig', 'smallbig')))
