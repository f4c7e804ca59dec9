# UCF101 (videos, decoded with decord), split 1 of its three official train/test splits,
# with the files named as MMAction2's tools/data/ucf101 scripts write them. The pipelines
# are Kinetics-400's (8 frames at interval 8; multi-scale crop + flip at 224 in training;
# 10 clips x 3 crops of 256 in testing), the sampling of the Kinetics-400 model that
# the fine-tuning configs start from. The split-2 and split-3 configs change only the
# annotation files.
_base_ = ['kinetics400.py']

data_root = 'data/ucf101/videos'
data_root_val = data_root
split = 1  # the official splits: 1, 2, 3
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'

train_dataloader = dict(dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = val_dataloader  # the test pipeline and batch size stay Kinetics-400's
