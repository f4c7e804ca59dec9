"""The built package: the sdist and the wheel carry the notices and the configs, and a wheel
installed into a fresh folder (no repository on the path) trains the motion config from a
short user config, both through this project's tools (text config, ``smallbig_mm::``) and
through MMAction2's own ``tools/train.py`` (pure-Python config, ``read_base``).

About 50 s of CPU: building both archives ~8 s, two one-epoch trainings ~15 s each.
"""

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from smallbig_mm.data.motion import MotionSettings, generate_motion_dataset

pytestmark = pytest.mark.mmaction  # runs MMAction2 configs or tools

REPO = Path(__file__).resolve().parents[2]
SOURCES = (
    'setup.py',
    'MANIFEST.in',
    'README.md',
    'LICENSE',
    'CITATION.cff',
    'CHANGELOG.md',
    'model-index.yml',
    'configs',
    'smallbig_mm',
)
NOTICES = ('LICENSE', 'CITATION.cff', 'CHANGELOG.md')
MOTION = 'recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py'
TEXT_USER_CONFIG = f"""\
_base_ = ['smallbig_mm::{MOTION}']
train_cfg = dict(max_epochs=1, val_begin=1, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1, eta_min=0, by_epoch=True, begin=0,
                        end=1, convert_to_iter_based=True)]
"""
PYTHON_USER_CONFIG = f"""\
from mmengine.config import read_base

with read_base():
    from smallbig_mm.configs.{MOTION[:-3].replace('/', '.').replace('-', '_')} import *

train_cfg.update(max_epochs=1, val_begin=1, val_interval=1)
param_scheduler[0].update(T_max=1, end=1)
"""


def run(command, cwd, env=None):
    result = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


@pytest.fixture(scope='module')
def archives(tmp_path_factory):
    """(wheel, sdist) built from a copy of the repository's shipped files."""
    root = tmp_path_factory.mktemp('build')
    source = root / 'source'
    ignore = shutil.ignore_patterns('__pycache__', '*.egg-info', 'build')
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '--no-deps',
            '--no-build-isolation',
            '-q',
            '-w',
            root / 'dist',
            './source',
        ],
        cwd=root,
    )
    run(
        [
            sys.executable,
            '-c',
            'import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])',
            root / 'dist',
        ],
        cwd=source,
    )
    (wheel,) = (root / 'dist').glob('*.whl')
    (sdist,) = (root / 'dist').glob('*.tar.gz')
    return wheel, sdist


@pytest.fixture(scope='module')
def installed(archives, tmp_path_factory):
    """A user folder with the wheel installed beside it (``--target``) and tiny motion data:
    (user folder, environment with only the install on PYTHONPATH, console-script folder)."""
    root = tmp_path_factory.mktemp('user')
    site, user = root / 'site', root / 'user'
    run(
        [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', site, archives[0]],
        cwd=root,
    )
    user.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    generate_motion_dataset(
        user / 'data' / 'smallbig_motion',  # where the config looks
        MotionSettings(num_train=16, num_val=8),
    )
    (user / 'text_user.py').write_text(TEXT_USER_CONFIG)
    (user / 'python_user.py').write_text(PYTHON_USER_CONFIG)
    return user, env, site / 'bin'


def test_notices_and_configs_are_in_both_archives(archives):
    wheel, sdist = archives
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split('/')[0]
        in_sdist = {name.partition('/')[2] for name in archive.getnames()}
    dist_info = next(n.split('/')[0] for n in in_wheel if '.dist-info/' in n)
    for notice in NOTICES:
        assert notice in in_sdist, (notice, top)
        # the license in the wheel's metadata, the others beside the configs
        where = (
            f'{dist_info}/licenses/{notice}'
            if notice == 'LICENSE'
            else f'smallbig_mm/.mim/{notice}'
        )
        assert (REPO / notice).read_bytes() == _read_zip(wheel, where)
    text_configs = [p.relative_to(REPO) for p in (REPO / 'configs').rglob('*.py')]
    assert text_configs
    for config in text_configs:
        assert str(config) in in_sdist
        assert f'smallbig_mm/.mim/{config}' in in_wheel
        generated = config.relative_to('configs').with_name(config.name.replace('-', '_'))
        assert f'smallbig_mm/configs/{generated}' in in_wheel
    assert 'smallbig_mm/.mim/model-index.yml' in in_wheel


def _read_zip(path, name):
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_both_config_forms_resolve_to_the_same_config(installed):
    user, env, _ = installed
    script = (
        'import json, smallbig_mm; from mmengine.config import Config; '
        'from smallbig_mm.mmaction.config_scope import read_config; '
        'text = read_config("text_user.py").to_dict(); '
        'python = Config.fromfile("python_user.py").to_dict(); '
        'print(json.dumps([smallbig_mm.__file__, sorted(text) == sorted(python), '
        '[k for k in text if text[k] != python.get(k)]]))'
    )
    imported, same_keys, differing = json.loads(
        run([sys.executable, '-W', 'ignore', '-c', script], user, env).strip().splitlines()[-1]
    )
    assert imported == str(user.parent / 'site' / 'smallbig_mm' / '__init__.py')
    assert same_keys and differing == []


def test_project_tool_trains_a_text_config_from_the_installed_package(installed):
    user, env, bin_folder = installed
    out = run([bin_folder / 'smallbig-train', 'text_user.py', '--work-dir', 'wd_text'], user, env)
    assert 'Epoch(val) [1]' in out
    _assert_plugin_checkpoint(user / 'wd_text' / 'epoch_1.pth')


def test_mmaction_train_py_trains_a_python_config_from_the_installed_package(installed):
    """MMAction2's own tools/train.py (shipped in its wheel under mmaction/.mim/tools)."""
    user, env, _ = installed
    import mmaction

    train_py = Path(mmaction.__file__).parent / '.mim' / 'tools' / 'train.py'
    assert train_py.is_file(), 'the mmaction2 install lacks mmaction/.mim/tools/train.py'
    out = run([sys.executable, train_py, 'python_user.py', '--work-dir', 'wd_python'], user, env)
    assert 'Epoch(val) [1]' in out
    _assert_plugin_checkpoint(user / 'wd_python' / 'epoch_1.pth')


def _assert_plugin_checkpoint(path):
    """The run used this package's hooks: RNGStateHook put the random state in."""
    from smallbig_mm.weights.io import read_raw_checkpoint

    assert 'rng_state' in read_raw_checkpoint(path)
