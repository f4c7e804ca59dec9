# Something-Something (V1 frames or V2 videos): what the two datasets' configs share.
# Segment sampling as in TSN: the video is split into T equal segments and one frame is
# taken from each (random in training, the middle in testing): MMAction2's UniformSample,
# as its MViT / UniFormerV2 sthv2 configs use it for 3D inputs. The configs put a
# sampler and a decoder in front of these transforms.
# No flip: several classes differ only by direction ("left to right" / "right to left").
sth_train_transforms = [
    dict(type='Resize', scale=(-1, 256)),
    dict(
        type='MultiScaleCrop',
        input_size=224,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
        num_fixed_crops=13,
    ),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
sth_val_transforms = [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
# 2 clips (segment offsets 1/3 and 2/3) x 3 crops of 256, like MMAction2's TSM sthv2
# test (twice_sample x ThreeCrop): the sampler of the test pipeline takes num_clips=2.
sth_test_transforms = [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(test_mode=True),
)
test_dataloader = dict(val_dataloader, batch_size=1)  # one video (6 views) a batch

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
