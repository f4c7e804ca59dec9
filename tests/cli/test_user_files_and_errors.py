"""Nothing a user made is lost, and every user error is one line: through the real tools.

Each tool runs as a user would run it (``tools/*.py``), on generated data and tiny models:
in a subprocess once per tool and where the process matters, otherwise in this process
(``run_main_status``: the same entry point without the start-up cost). Outputs are
refused if they exist (unless ``--force``) or are the tool's own input, files and folders
get the umask's modes, a failure while writing leaves the old file, and user errors end
with one ``error:`` line (exit 1, or 2 for usage) and a traceback only under
``--log-level DEBUG``.
"""

import os
import stat
from pathlib import Path

import pytest
import torch

from helpers import (
    PYTHON,
    REPO,
    TINY_CONFIG,
    assert_one_error,
    data_options,
    run_main_status,
    run_tool_status,
)
from smallbig_mm.models import SmallBigResNet
from smallbig_mm.weights import read_checkpoint

CONVERT = str(REPO / 'tools' / 'convert_checkpoint.py')
GENERATE = str(REPO / 'tools' / 'data' / 'generate_motion.py')
BENCHMARK = str(REPO / 'tools' / 'benchmark.py')
TRAIN = str(REPO / 'tools' / 'train.py')
TEST = str(REPO / 'tools' / 'test.py')


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope='module')
def backbone_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('convert') / 'backbone.pth'
    torch.save(SmallBigResNet(depth=23, base_channels=8).state_dict(), path)
    return path


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of the tiny config's recognizer (fresh weights)."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    init_default_scope('mmaction')
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


# -- the converter --------------------------------------------------------------------
def test_converter_keeps_existing_files_and_its_input(backbone_file, tmp_path):
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'precious')
    result = run_tool_status(
        [PYTHON, CONVERT, str(backbone_file), str(dst), '--to', 'timm'], tmp_path
    )
    assert_one_error(result, 1, f'{dst} exists', '--force')
    assert dst.read_bytes() == b'precious'

    debug = run_main_status(
        'smallbig-convert',
        [backbone_file, dst, '--to', 'timm', '--log-level', 'DEBUG'],
        tmp_path,
    )
    assert debug.returncode == 1 and 'Traceback' in debug.stderr
    assert 'OutputExistsError' in debug.stderr and debug.stderr.count('error: ') == 1

    before = backbone_file.read_bytes()
    same = run_main_status(
        'smallbig-convert', [backbone_file, backbone_file, '--to', 'timm', '--force'], tmp_path
    )
    assert_one_error(same, 2, 'would overwrite the input', 'choose another output name')
    assert backbone_file.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ['out.pth']  # no temporary file left


@pytest.mark.parametrize('umask,expected', [(0o022, 0o644), (0o077, 0o600)])
def test_converter_outputs_get_umask_modes_also_without_a_suffix(
    backbone_file, tmp_path, umask, expected
):
    plain = tmp_path / 'weights'  # no suffix: torch.save format
    run = run_main_status(
        'smallbig-convert', [backbone_file, plain, '--to', 'timm'], tmp_path, umask=umask
    )
    assert run.returncode == 0, run.stderr
    assert mode(plain) == expected
    assert 'conv1.weight' in read_checkpoint(plain).state_dict
    # replacing with --force gives the umask's modes too (not mkstemp's 0600)
    replaced = tmp_path / 'replaced.pth'
    replaced.write_bytes(b'old')
    os.chmod(replaced, 0o640)
    run = run_main_status(
        'smallbig-convert',
        [backbone_file, replaced, '--to', 'timm', '--force'],
        tmp_path,
        umask=umask,
    )
    assert run.returncode == 0, run.stderr
    assert mode(replaced) == expected
    assert sorted(os.listdir(tmp_path)) == ['replaced.pth', 'weights']


def test_a_failure_while_writing_leaves_the_old_file(backbone_file, tmp_path, monkeypatch):
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'precious')

    def half_then_fail(obj, f, *args, **kwargs):  # as on a full disk
        f = open(f, 'wb') if isinstance(f, str) else f
        f.write(b'half')
        raise OSError(28, 'No space left on device', f.name)

    monkeypatch.setattr(torch, 'save', half_then_fail)
    result = run_main_status(
        'smallbig-convert', [backbone_file, dst, '--to', 'timm', '--force'], tmp_path
    )
    assert_one_error(result, 1, 'no space left on device', 'free some space')
    assert dst.read_bytes() == b'precious'
    assert sorted(os.listdir(tmp_path)) == ['out.pth']


# -- the motion generator --------------------------------------------------------------
@pytest.mark.parametrize('umask,folders,files', [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_generated_dataset_gets_umask_modes(tmp_path, umask, folders, files):
    out = tmp_path / 'motion'
    result = run_main_status(
        'smallbig-generate-motion',
        [
            '--out-dir',
            str(out),
            '--num-train',
            '2',
            '--num-val',
            '2',
            '--num-frames',
            '4',
            '--size',
            '16',
        ],
        tmp_path,
        umask=umask,
    )
    assert result.returncode == 0, result.stderr
    assert mode(out) == folders and mode(out / 'train') == folders
    assert mode(out / 'train.txt') == files and mode(out / 'train' / '000000.mp4') == files
    assert sorted(os.listdir(tmp_path)) == ['motion']


def test_generator_errors_are_one_line(tmp_path):
    taken = tmp_path / 'taken'
    taken.write_text('mine')
    result = run_tool_status([PYTHON, GENERATE, '--out-dir', str(taken)], tmp_path)
    assert_one_error(result, 1, f'out_dir {taken} exists and is not a folder')
    assert taken.read_text() == 'mine'
    hostile = ['--size', '2048', '--num-frames', '1024', '--square', '8', '--step', '1e-4']
    result = run_main_status(
        'smallbig-generate-motion', ['--out-dir', tmp_path / 'x', *hostile], tmp_path
    )
    assert_one_error(result, 2, 'rendering one clip would need 192 GiB of memory')
    assert sorted(os.listdir(tmp_path)) == ['taken']  # refused before anything is made


@pytest.mark.parametrize(
    'flag,value,says',
    [
        ('--size', '100000', 'argument --size: must be an int in 16..2048, got 100000'),
        ('--num-train', '10000000000', 'argument --num-train: must be an int in 2..1000000'),
        ('--num-frames', '2', 'argument --num-frames: must be an int in 4..1024, got 2'),
        ('--step', '0', 'argument --step: must be a number in 1e-06..1.0, got 0'),
        ('--noise', 'nan', 'argument --noise: must be a number in 0.0..64.0, got nan'),
        ('--fps', '1e9', "argument --fps: expected an int, got '1e9'"),
        ('--seed', '-1', 'argument --seed: must be an int in 0..'),
    ],
)
def test_generator_checks_every_number_when_parsed(flag, value, says, capsys):
    from smallbig_mm.cli import generate_motion

    with pytest.raises(SystemExit) as done:
        generate_motion.main(['--out-dir', 'never', flag, value])
    err = capsys.readouterr().err
    assert done.value.code == 2 and says in err.strip().splitlines()[-1], err
    assert not os.path.exists('never')


def test_generator_refuses_what_the_disk_cannot_hold_and_a_full_disk(tmp_path, monkeypatch, capsys):
    import errno
    import shutil
    from collections import namedtuple

    from smallbig_mm.cli import generate_motion
    from smallbig_mm.data import motion

    out = tmp_path / 'm'
    small = ['--out-dir', str(out), '--num-train', '1000', '--size', '64']
    usage = namedtuple('usage', 'total used free')
    with monkeypatch.context() as patched:  # 1 MiB free
        patched.setattr(shutil, 'disk_usage', lambda path: usage(2**30, 2**30 - 2**20, 2**20))
        assert generate_motion.main(small) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f'error: out_dir {out}: the dataset would need about 30.8 MiB on disk (num_train + '
        'num_val clips of num_frames x size x size pixels), but only 1.0 MiB are free there: '
        'lower the sizes or choose another disk'
    )

    def full(path, frames, fps):  # the third clip hits a full disk
        if path.name == '000002.mp4':
            raise OSError(errno.ENOSPC, 'No space left on device')
        real_write(path, frames, fps)

    real_write = motion.write_mp4
    monkeypatch.setattr(motion, 'write_mp4', full)
    assert generate_motion.main([*small[:2], '--num-train', '4']) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f'error: out_dir {out}: the disk filled up while the dataset was written; nothing was '
        'written (the temporary folder is removed): free some space or choose another disk'
    )
    assert os.listdir(tmp_path) == []


# -- the benchmark ---------------------------------------------------------------------
def test_benchmark_checks_its_output_before_measuring(tmp_path):
    out = tmp_path / 'results.json'
    out.write_text('{"kept": true}')
    result = run_tool_status([PYTHON, BENCHMARK, 'smallbig_resnet23', '--json', str(out)], tmp_path)
    assert_one_error(result, 1, f'{out} exists', '--force')
    assert 'measuring' not in result.stdout and out.read_text() == '{"kept": true}'
    result = run_main_status('smallbig-benchmark', ['no_such_model'], tmp_path)
    assert_one_error(result, 2, "unknown model 'no_such_model'")


# -- train and test --------------------------------------------------------------------
@pytest.mark.mmaction
def test_train_usage_mistakes_are_one_line(motion_data, tmp_path):
    base = [PYTHON, TRAIN, str(TINY_CONFIG)]
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    work = blocker / 'work'
    result = run_tool_status(
        base + ['--work-dir', str(work), '--cfg-options', *data_options(motion_data)], tmp_path
    )
    assert_one_error(
        result, 1, f'--work-dir {work} cannot be created or written', 'is a file, not a folder'
    )
    debug = run_tool_status(
        base
        + [
            '--work-dir',
            str(work),
            '--log-level',
            'DEBUG',
            '--cfg-options',
            *data_options(motion_data),
        ],
        tmp_path,
    )
    assert debug.returncode == 1 and 'Traceback' in debug.stderr
    assert 'FolderNotWritableError' in debug.stderr

    assert_one_error(
        run_tool_status(base + ['--cfg-options', 'no_equals_sign'], tmp_path),
        2,
        "--cfg-options: expected KEY=VALUE, got 'no_equals_sign'",
    )
    assert_one_error(
        run_tool_status(base + ['--cfg-options', 'model.backbone.depth.x=3'], tmp_path),
        2,
        '--cfg-options model.backbone.depth.x=3',
    )
    assert_one_error(
        run_tool_status([PYTHON, TRAIN, 'no/such/config.py'], tmp_path),
        2,
        'config file not found: no/such/config.py',
    )
    broken = tmp_path / 'broken.py'
    broken.write_text("_base_ = ['x.py'\nmodel = dict(\n")
    assert_one_error(
        run_tool_status([PYTHON, TRAIN, str(broken)], tmp_path),
        1,
        f'{broken}, line',
        'invalid Python in the config',
    )
    assert not (tmp_path / 'work_dirs').exists()


@pytest.mark.mmaction
def test_test_dump_is_checked_first_and_never_overwritten(motion_data, tiny_checkpoint, tmp_path):
    dump = tmp_path / 'preds.pkl'
    dump.write_bytes(b'earlier predictions')
    base = [
        PYTHON,
        TEST,
        str(TINY_CONFIG),
        str(tiny_checkpoint),
        '--work-dir',
        str(tmp_path / 'work'),
        '--cfg-options',
        *data_options(motion_data),
    ]
    result = run_tool_status(base + ['--dump', str(dump)], tmp_path)
    assert_one_error(result, 1, f'{dump} exists', '--force')
    assert dump.read_bytes() == b'earlier predictions'
    assert 'test metrics' not in result.stdout and not (tmp_path / 'work').exists()

    result = run_tool_status(base + ['--dump', str(dump), '--force'], tmp_path, umask=0o077)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'test metrics: acc/top1=' in result.stdout
    assert dump.read_bytes()[:1] == b'\x80' and mode(dump) == 0o600  # a pickle, umask modes
    assert 'prefix is not set' not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'preds.pkl',
        'preds.pkl.provenance.json',
        'work',
    ]
    import json

    from smallbig_mm.utils.provenance import sha256_file

    record = json.loads((tmp_path / 'preds.pkl.provenance.json').read_text())
    assert record['inputs']['checkpoint']['sha256'] == sha256_file(tiny_checkpoint)
