"""Fixtures shared by every test folder (helpers live in tests/helpers.py).

Imports torch only: the MMAction2 side is imported by tests/mmaction/conftest.py and,
for tests marked ``mmaction`` elsewhere, by the repository's conftest.py.
"""

import functools
import http.server
import threading

import pytest
import torch

from smallbig_mm.data.motion import MotionSettings, generate_motion_dataset

collect_ignore = ['configs', 'assets']  # MMEngine config files and test data, not test modules

# One thread per test process: predictable on CI's 2 cores, where the end-to-end tests
# also start subprocesses.
torch.set_num_threads(1)


@pytest.fixture(scope='session')
def motion_data(tmp_path_factory):
    """8 training and 4 validation clips of 8 frames at 32x32, with annotation lists."""
    return generate_motion_dataset(
        tmp_path_factory.mktemp('motion') / 'data', MotionSettings(num_train=8, num_val=4)
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serves ``tmp_path / 'www'`` on 127.0.0.1; yields (base URL, folder, stop)."""
    root = tmp_path / 'www'
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_Quiet, directory=str(root))
    )
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop():
        if thread.is_alive():
            httpd.shutdown()
            httpd.server_close()
            thread.join(5)

    yield f'http://127.0.0.1:{httpd.server_address[1]}', root, stop
    stop()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)
    monkeypatch.delenv('TRANSFORMERS_OFFLINE', raising=False)
    return tmp_path / 'torch' / 'hub' / 'checkpoints'
