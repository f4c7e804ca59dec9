"""Under torchrun, results and progress are printed once, by rank 0 (issue 19): two CPU
processes (gloo) test the tiny config on two generated videos (one per rank) with random
weights, through tools/dist_test.sh and through the smallbig-test console script."""

import os
import sys
from pathlib import Path

import pytest
import torch

from helpers import PYTHON, REPO, TINY_CONFIG, free_port, run_tool
from smallbig_mm.data.motion import MotionSettings, generate_motion_dataset


def test_two_processes_print_the_metrics_and_the_progress_once(tmp_path):
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    data = generate_motion_dataset(tmp_path / 'data', MotionSettings(num_train=2, num_val=2))
    init_default_scope('mmaction')
    checkpoint = tmp_path / 'tiny.pth'
    torch.save(
        {'state_dict': MODELS.build(Config.fromfile(TINY_CONFIG).model).state_dict()}, checkpoint
    )
    options = [
        '--progress',
        'on',
        '--cfg-options',
        f'test_dataloader.dataset.ann_file={data.val_ann}',
        f'test_dataloader.dataset.data_prefix.video={data.root}',
    ]
    script = Path(sys.executable).parent / 'smallbig-test'
    launches = [
        (
            ['bash', str(REPO / 'tools' / 'dist_test.sh'), str(TINY_CONFIG), str(checkpoint), '2'],
            'dist',
        )
    ]
    if script.is_file():  # the console script of the installed package
        launches.append(
            (
                [
                    PYTHON,
                    '-m',
                    'torch.distributed.run',
                    '--nproc_per_node',
                    '2',
                    '--master_port',
                    str(free_port()),
                    str(script),
                    str(TINY_CONFIG),
                    str(checkpoint),
                    '--launcher',
                    'pytorch',
                ],
                'script',
            )
        )
    for command, name in launches:
        result = run_tool(
            [*command, '--work-dir', str(tmp_path / name), *options],
            tmp_path,
            PORT=str(free_port()),
            PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]),
        )
        output = result.stdout + result.stderr
        lines = output.splitlines()
        assert sum(line.startswith('test metrics: acc/top1=') for line in lines) == 1, output
        assert sum(line.startswith('test: ') for line in lines) == 1, output  # rank 0's bar
        assert '\r' not in output and 'Distributed training: True' in output
    if not script.is_file():
        pytest.skip(f'no console script {script}: only tools/dist_test.sh was run')
