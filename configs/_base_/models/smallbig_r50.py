# SmallBig-ResNet-50 (Li et al., CVPR 2020): 2D res2, SmallBig res3-res5, I3D head.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='SmallBigResNet',
        depth=50,
        block_types=('2d', 'smallbig', 'smallbig', 'smallbig'),
        pretrained=None,
        pretrained2d=True,
        norm_eval=False,
    ),
    cls_head=dict(
        type='I3DHead',
        in_channels=2048,
        num_classes=400,
        spatial_type='avg',
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob',
    ),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW',
    ),
)
