"""The demo's and the benchmark's console with the output redirected to a file (issue 19):
only lines a person can act on, no carriage returns; the stack's warnings (mmcv-lite's
``MultiScaleDeformableAttention`` notice) only with ``--log-level DEBUG``. Each tool runs
quiet and with DEBUG side by side, on a tiny model."""

import os
import subprocess
from pathlib import Path

import pytest

from helpers import PYTHON, REPO, TINY_CONFIG

pytestmark = pytest.mark.mmaction  # the demo and the config model import the stack

K400 = (
    REPO
    / 'configs/recognition/smallbig/smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py'
)
DEMO = [
    PYTHON,
    str(REPO / 'tools' / 'demo.py'),
    str(K400),
    str(REPO / 'demo' / 'demo.mp4'),
    '--max-windows',
    '2',
    '--cfg-options',
    '+model.backbone.base_channels=4',
    'model.cls_head.in_channels=128',
    'test_dataloader.dataset.pipeline.3.scale=(-1,32)',
    'test_dataloader.dataset.pipeline.4.crop_size=32',
]
BENCHMARK = [
    PYTHON,
    str(REPO / 'tools' / 'benchmark.py'),
    str(TINY_CONFIG),
    '--frames',
    '4',
    '--size',
    '32',
    '--warmup',
    '0',
    '--repeats',
    '1',
]
NOISE = 'Fail to import ``MultiScaleDeformableAttention``'


def run_into_files(command, folder: Path):
    """Runs ``command`` and ``command --log-level DEBUG`` at once, stdout and stderr into
    one file each (as ``> log 2>&1``); returns both files' text."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    runs = []
    for name, extra in (('quiet', []), ('debug', ['--log-level', 'DEBUG'])):
        log = open(folder / f'{name}.log', 'w')
        runs.append(
            (
                subprocess.Popen(
                    [*command, *extra], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
                ),
                log,
            )
        )
    texts = []
    for process, log in runs:
        assert process.wait(timeout=300) == 0, Path(log.name).read_text()[-3000:]
        log.close()
        texts.append(Path(log.name).read_text())
    return texts


def test_the_demo_in_a_file_shows_only_what_a_user_can_act_on(tmp_path):
    quiet, debug = run_into_files(DEMO, tmp_path)
    lines = quiet.splitlines()
    assert '\r' not in quiet and NOISE not in quiet
    assert lines[0].startswith('RandomWeightsWarning: no checkpoint given: ')  # one line
    assert lines[1] == 'windows: 2/2'
    assert lines[2].startswith('Top-5 of ') and len(lines) == 8, quiet
    assert NOISE in debug and '\r' not in debug


def test_the_benchmark_in_a_file_shows_only_its_table(tmp_path):
    quiet, debug = run_into_files(BENCHMARK, tmp_path)
    lines = quiet.splitlines()
    assert '\r' not in quiet and 'Warning' not in quiet
    assert lines[0] == f'measuring {TINY_CONFIG}, repeats interleaved ...'
    assert lines[3].startswith('| model |') and len(lines) == 6, quiet
    assert NOISE in debug and '\r' not in debug
