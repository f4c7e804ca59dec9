"""Helpers shared by the tests: paths, tiny models and configs, running the tools.

Imported as ``from helpers import ...`` (pytest.ini puts tests/ on sys.path).
"""

import contextlib
import importlib.util
import io
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import pytest
import torch
from torch import nn

from smallbig_mm.models import SmallBigResNet

if TYPE_CHECKING:  # MMEngine only for the tests marked mmaction
    from mmengine.config import Config

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / 'tests' / 'configs' / 'tiny_smallbig_motion.py'


def data_options(data) -> List[str]:
    """``--cfg-options`` pointing the tiny config's three dataloaders at ``data``."""
    options = []
    for split, ann in (('train', data.train_ann), ('val', data.val_ann), ('test', data.val_ann)):
        options += [
            f'{split}_dataloader.dataset.ann_file={ann}',
            f'{split}_dataloader.dataset.data_prefix.video={data.root}',
        ]
    return options


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_tool(
    args: Sequence[str], cwd: Path, timeout: float = 300, **env_vars: str
) -> subprocess.CompletedProcess:
    """Runs a command as a user would, failing the test with its output if it fails."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **env_vars)
    result = subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        pytest.fail(
            f'{" ".join(map(str, args))} exited {result.returncode}\n'
            f'--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}'
        )
    return result


def run_tool_status(
    args: Sequence[str],
    cwd: Path,
    timeout: float = 300,
    umask: Optional[int] = None,
    **env_vars: str,
) -> subprocess.CompletedProcess:
    """Runs a command as a user would and returns its result, whatever its exit status.

    ``umask``: the umask the command runs under (default: this process's).
    """
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', **env_vars)
    preexec = None if umask is None else (lambda: os.umask(umask))
    return subprocess.run(
        list(args),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def run_main_status(
    command: str, args: Sequence[str], cwd: Optional[Path] = None, umask: Optional[int] = None
) -> subprocess.CompletedProcess:
    """Runs the console script ``command`` (``'smallbig-convert'`` ...) in this process, as
    its ``tools/*.py`` shim does (``sys.exit`` of the launcher's result), and returns what
    :func:`run_tool_status` returns for a subprocess: the exit status and the captured
    stdout and stderr.

    A tool's process costs about 6 s of CPU to start (torch, timm); this costs nothing.
    Use it for what a tool does with files, arguments and errors. A test that needs a
    process of its own keeps :func:`run_tool_status`: what is printed while importing,
    signals, environment variables read at import, and at least one run per tool of
    its exit status and console. The working directory, umask and environment are
    restored after the run. Logging that a process would print through Python's
    last-resort handler is not captured here (pytest holds the root logger).

    Args:
        command: a key of ``smallbig_mm.cli.launcher.TOOLS``.
        args: its arguments (``sys.argv[1:]``).
        cwd: the working directory while it runs (default: this one).
        umask: the umask while it runs (default: this process's).
    """
    from smallbig_mm.cli.launcher import run

    stdout, stderr = io.StringIO(), io.StringIO()
    here, environ = os.getcwd(), dict(os.environ)
    previous_umask = None if umask is None else os.umask(umask)
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = run(command, [str(arg) for arg in args])
            except SystemExit as done:
                status = done.code
            if status is not None and not isinstance(status, int):  # sys.exit('message')
                print(status, file=sys.stderr)
                status = 1
    finally:
        os.chdir(here)
        if os.environ != environ:  # what a tool exports stays in its run
            os.environ.clear()
            os.environ.update(environ)
        if previous_umask is not None:
            os.umask(previous_umask)
    return subprocess.CompletedProcess(
        [command, *map(str, args)], status or 0, stdout.getvalue(), stderr.getvalue()
    )


def assert_one_error(result: subprocess.CompletedProcess, status: int, *fragments: str) -> str:
    """The command failed with ``status``, one ``error:`` line on stderr, no traceback.

    Returns the error line (with what follows it: a list of problems is indented).
    """
    output = result.stdout + result.stderr
    assert result.returncode == status, output[-3000:]
    lines = [line for line in result.stderr.splitlines() if 'error:' in line]
    assert len(lines) == 1, result.stderr[-3000:]
    assert 'Traceback' not in output, output[-3000:]
    message = result.stderr[result.stderr.index(lines[0]) :]
    for fragment in fragments:
        assert fragment in message, message
    return message


def latest_log(work_dir: Path) -> Path:
    """The log file of the newest run in ``work_dir`` (MMEngine's timestamped folders)."""
    logs = sorted(Path(work_dir).glob('*/*.log'), key=lambda p: p.parent.name)
    assert logs, f'no log file under {work_dir}'
    return logs[-1]


def logged(work_dir: Path, key: str = 'loss') -> Dict[int, float]:
    """Iteration -> a logged training value (``'loss'``, ``'lr'``) of every run in ``work_dir``.

    Reads MMEngine's ``<timestamp>/vis_data/scalars.json`` (full precision); where runs
    logged the same iteration, the later run wins. The tiny config logs every
    iteration, unsmoothed.
    """
    values: Dict[int, float] = {}
    for scalars in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if key in record and 'loss' in record:  # training records only
                values[record['step']] = record[key]
    return values


class WarningRecords(logging.Handler):
    """Collects the warnings (and worse) logged to the MMLogger it is added to."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def tiny_config(data, work_dir: Path, config: Path = TINY_CONFIG, **options) -> 'Config':
    """The tiny config on ``data`` for an in-process ``Runner.from_cfg`` (quiet, seed 0).

    ``options`` are ``--cfg-options``-style overrides, e.g. ``{'train_cfg.max_epochs': 1}``.
    """
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    overrides = dict(option.split('=', 1) for option in data_options(data))
    overrides.update(
        work_dir=str(work_dir),
        log_level='WARNING',
        randomness=dict(seed=0),
        experiment_name=f'{Path(work_dir).name}-{id(work_dir)}',
    )
    overrides.update(options)
    cfg.merge_from_dict(overrides)
    return cfg


PYTHON = sys.executable


def load_tool(name: str, folder: str = 'analysis_tools'):
    """Imports ``tools/<folder>/<name>.py`` as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / 'tools' / folder / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The paper's parameter and MAC table (docs/architecture.md; arXiv 2006.14582): 400
# classes, input 1x3xTx224x224, MACs of conv + linear. (variant, T) -> (parameters, GMACs)
PAPER_COUNTS = {
    ('c2d-r50', 8): (24_327_632, 32.70),
    ('3d-r50', 8): (32_454_096, 41.74),
    ('r23', 8): (11_368_400, 26.53),
    ('r50', 8): (24_370_640, 51.97),
    ('r50', 16): (24_370_640, 103.26),
    ('r50', 32): (24_370_640, 205.86),
    ('r50-extra', 8): (32_292_816, 62.66),
    ('r101', 8): (43_414_992, 105.25),
    ('r101', 16): (43_414_992, 208.95),
    ('r101', 32): (43_414_992, 416.36),
}
SMALLBIG_MD = PAPER_COUNTS  # the first name, for tests that import it


def tiny(**kwargs) -> SmallBigResNet:
    """A SmallBig-R23 at width 8 (the paper's structure, ~100x fewer MACs than R50)."""
    kwargs.setdefault('depth', 23)
    kwargs.setdefault('base_channels', 8)
    return SmallBigResNet(**kwargs)


def randomize_norms(model: nn.Module) -> None:
    """Gives every norm (big views included) non-trivial affine parameters and statistics."""
    generator = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.weight.data = torch.rand(m.weight.shape, generator=generator) + 0.5
            m.bias.data = torch.randn(m.bias.shape, generator=generator) * 0.1
            m.running_mean = torch.randn(m.running_mean.shape, generator=generator) * 0.1
            m.running_var = torch.rand(m.running_var.shape, generator=generator) + 0.5
