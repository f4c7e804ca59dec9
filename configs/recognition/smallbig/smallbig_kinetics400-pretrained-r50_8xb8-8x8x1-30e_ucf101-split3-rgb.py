# UCF101 split 3: the split-1 config with split 3's annotation files.
_base_ = ['smallbig_kinetics400-pretrained-r50_8xb8-8x8x1-30e_ucf101-split1-rgb.py']

split = 3
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val))
test_dataloader = dict(dataset=dict(ann_file=ann_file_val))
