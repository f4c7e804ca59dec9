# SmallBig-ResNet-50 on Something-Something V1: 8 segments, one frame each.
# V1 is distributed as JPEG frames (MMAction2's RawframeDataset, '{:05}.jpg').
_base_ = [
    '../../_base_/models/smallbig_r50.py',
    '../../_base_/schedules/sgd_cosine_100e.py',
    '../../_base_/default_runtime.py',
    '../../_base_/datasets/something_something.py',
]

model = dict(
    backbone=dict(pretrained='torchvision://resnet50', pretrained2d=True),
    cls_head=dict(num_classes=174),
)

# dataset settings
dataset_type = 'RawframeDataset'
data_root = 'data/sthv1/rawframes'
ann_file_train = 'data/sthv1/sthv1_train_list_rawframes.txt'
ann_file_val = 'data/sthv1/sthv1_val_list_rawframes.txt'
filename_tmpl = '{:05}.jpg'

train_pipeline = [
    dict(type='UniformSample', clip_len=8),
    dict(type='RawFrameDecode'),
    *_base_.sth_train_transforms,
]
val_pipeline = [
    dict(type='UniformSample', clip_len=8, test_mode=True),
    dict(type='RawFrameDecode'),
    *_base_.sth_val_transforms,
]
test_pipeline = [
    dict(type='UniformSample', clip_len=8, num_clips=2, test_mode=True),
    dict(type='RawFrameDecode'),
    *_base_.sth_test_transforms,
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(img=data_root),
        filename_tmpl=filename_tmpl,
        pipeline=train_pipeline,
    )
)
# Validation and testing: the validation list.
val_dataloader = dict(
    dataset=dict(train_dataloader['dataset'], ann_file=ann_file_val, pipeline=val_pipeline)
)
test_dataloader = dict(dataset=dict(val_dataloader['dataset'], pipeline=test_pipeline))
