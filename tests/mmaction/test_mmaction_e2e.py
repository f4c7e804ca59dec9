"""End to end through MMAction2's real runner: train, validate, checkpoint, test, resume, DDP."""

import pickle
import re
import shutil

import pytest
import torch

from helpers import PYTHON, REPO, TINY_CONFIG, data_options, free_port, latest_log, run_tool
from smallbig_mm.weights import read_raw_checkpoint

TRAIN = str(REPO / 'tools' / 'train.py')
TEST = str(REPO / 'tools' / 'test.py')


@pytest.fixture(scope='module')
def trained(motion_data, tmp_path_factory):
    """One epoch of training with validation; returns the work directory."""
    work_dir = tmp_path_factory.mktemp('train')
    run_tool(
        [
            PYTHON,
            TRAIN,
            str(TINY_CONFIG),
            '--work-dir',
            str(work_dir),
            '--seed',
            '0',
            '--cfg-options',
            'train_cfg.max_epochs=1',
            *data_options(motion_data),
        ],
        cwd=work_dir,
    )
    return work_dir


def test_training_validates_and_saves_a_checkpoint(trained):
    checkpoint = read_raw_checkpoint(trained / 'epoch_1.pth')  # the guarded reader
    assert checkpoint['meta']['epoch'] == 1
    keys = checkpoint['state_dict']
    assert 'backbone.layer2.0.big1.bn.weight' in keys and 'cls_head.fc_cls.weight' in keys
    log = latest_log(trained).read_text()
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+acc/top1:', log)


def test_multi_view_test_from_the_checkpoint(trained, motion_data):
    dump = trained / 'predictions.pkl'
    result = run_tool(
        [
            PYTHON,
            TEST,
            str(TINY_CONFIG),
            str(trained / 'epoch_1.pth'),
            '--work-dir',
            str(trained),
            '--dump',
            str(dump),
            '--cfg-options',
            *data_options(motion_data),
        ],
        cwd=trained,
    )
    assert 'acc/top1' in result.stdout + result.stderr
    predictions = pickle.load(open(dump, 'rb'))
    assert len(predictions) == 4  # one score per video, averaged over 2 clips x 3 crops
    scores = predictions[0]['pred_score']
    assert scores.shape == (2,) and torch.isclose(scores.sum(), torch.tensor(1.0))


def test_resume_continues_from_the_last_checkpoint(trained, motion_data, tmp_path):
    work_dir = tmp_path / 'resumed'
    shutil.copytree(trained, work_dir)
    result = run_tool(
        [
            PYTHON,
            TRAIN,
            str(TINY_CONFIG),
            '--work-dir',
            str(work_dir),
            '--resume',
            '--cfg-options',
            'train_cfg.max_epochs=2',
            *data_options(motion_data),
        ],
        cwd=work_dir,
    )
    output = result.stdout + result.stderr
    assert 'resumed epoch: 1' in output
    assert 'Epoch(train) [1]' not in output and 'Epoch(train) [2]' in output
    assert read_raw_checkpoint(work_dir / 'epoch_2.pth')['meta']['epoch'] == 2


def test_two_process_distributed_training_on_cpu(motion_data, tmp_path):
    # nccl, as in GPU configs: without CUDA, smallbig_mm.mmaction.patches switches to gloo.
    result = run_tool(
        [
            'bash',
            str(REPO / 'tools' / 'dist_train.sh'),
            str(TINY_CONFIG),
            '2',
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            'train_cfg.max_epochs=1',
            'env_cfg.dist_cfg.backend=nccl',
            *data_options(motion_data),
        ],
        cwd=tmp_path,
        PORT=str(free_port()),
    )
    output = result.stdout + result.stderr
    assert 'Distributed training: True' in output
    assert 'using the gloo backend instead of nccl' in output
    # 8 clips, batch 4 per process: each of the 2 ranks runs 1 iteration, not 2
    assert 'Epoch(train) [1][1/1]' in output
    assert (tmp_path / 'epoch_1.pth').is_file()
