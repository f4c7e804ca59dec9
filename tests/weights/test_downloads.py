"""Downloads against a server on 127.0.0.1 that misbehaves on purpose.

Each bad answer (a stall, an HTML page, a cut body, a wrong sha256 prefix, a file that is
not a checkpoint) ends in one line naming the URL and leaves nothing in the torch hub
cache; the next, good answer is downloaded and used. Routes: the Python API, MMEngine's
runner (``load_from=http://...`` and the backbone's ``pretrained=http://...`` in a config
that inherits only MMAction2's own ``_base_`` files) and ``tools/train.py``.
"""

import hashlib
import http.server
import io
import os
import threading
import time

import pytest
import torch

import smallbig_mm.mmaction  # noqa: F401  (routes MMEngine's URL loads, registers the backbone)
from helpers import PYTHON, REPO, assert_one_error, run_tool_status
from smallbig_mm.models import SmallBigResNet
from smallbig_mm.weights import CheckpointError
from smallbig_mm.weights.download import DownloadError, cache_path, download_timeout
from smallbig_mm.weights.sources import resolve_pretrained

pytestmark = pytest.mark.mmaction  # imports the MMAction2 side at module level

torch.set_num_threads(1)
ARGS = dict(depth=23, base_channels=8)


class Misbehaving(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` (path -> bytes), misbehaving as ``mode`` (path -> mode) says.

    Modes: ``'stall'`` (headers, then nothing), ``'html'`` (a login page), ``'cut'`` (half
    of the body, then the connection closes), ``'plain'`` (the file). Every answer is
    counted in ``hits`` (path -> number of requests).
    """

    files, mode, hits = {}, {}, {}
    stalled = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = self.files.get(self.path)
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        mode = self.mode.get(self.path, 'plain')
        if body is None:
            self.send_error(404)
            return
        if mode == 'html':
            page = b'<!DOCTYPE html><html><body>Please sign in</body></html>'
            self.send_response(200)
            self.send_header('Content-Type', 'text/html; charset=utf-8')
            self.send_header('Content-Length', str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if mode == 'stall':
            self.wfile.flush()
            self.stalled.wait(10)  # sends nothing until the test ends
        elif mode == 'cut':
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(body)


@pytest.fixture
def bad_server(torch_home, monkeypatch):
    """(base URL, handler class); downloads time out after 1 s."""
    monkeypatch.setenv('SMALLBIG_MM_DOWNLOAD_TIMEOUT', '1')
    handler = type(
        'Handler', (Misbehaving,), dict(files={}, mode={}, hits={}, stalled=threading.Event())
    )
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}', handler
    handler.stalled.set()
    httpd.shutdown()
    httpd.server_close()


def checkpoint_bytes(seed: int, name: str = 'backbone') -> bytes:
    """A SmallBig-ResNet-23 (width 8) state dict with seeded random weights, as torch.save bytes."""
    torch.manual_seed(seed)
    model = SmallBigResNet(**ARGS)
    state = {
        k: torch.randn(v.shape) if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    buffer = io.BytesIO()
    torch.save({'state_dict': {f'{name}.{k}' if name else k: v for k, v in state.items()}}, buffer)
    return buffer.getvalue()


def cache_files(torch_home) -> list:
    return (
        sorted(str(p.relative_to(torch_home)) for p in torch_home.rglob('*') if p.is_file())
        if torch_home.exists()
        else []
    )


@pytest.mark.parametrize(
    'mode, fragment',
    [
        ('stall', 'sent nothing for 1 s (SMALLBIG_MM_DOWNLOAD_TIMEOUT)'),
        ('html', 'an HTML page'),
        ('cut', 'the body was cut'),
        ('junk', 'not a readable checkpoint'),
    ],
)
def test_a_bad_answer_is_one_line_caches_nothing_and_the_next_try_downloads(
    bad_server, torch_home, mode, fragment
):
    url, handler = bad_server
    good = checkpoint_bytes(0, name='')
    handler.files['/w.pth'] = b'\x80\x02 not really a pickle' * 100 if mode == 'junk' else good
    handler.mode['/w.pth'] = mode
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        resolve_pretrained(f'{url}/w.pth', progress=False)
    message = str(info.value)
    assert '\n' not in message and message.startswith(f'{url}/w.pth: ') and fragment in message
    assert 'nothing was cached' in message and cache_files(torch_home) == []
    assert time.monotonic() - start < 8  # the stall ends after the 1 s timeout

    handler.files['/w.pth'], handler.mode['/w.pth'] = good, 'plain'
    path = resolve_pretrained(f'{url}/w.pth', progress=False)
    assert open(path, 'rb').read() == good and handler.hits['/w.pth'] == 2
    assert resolve_pretrained(f'{url}/w.pth') == path and handler.hits['/w.pth'] == 2  # cached


def test_two_urls_with_one_file_name_never_share_a_cache_entry(bad_server, torch_home):
    url, handler = bad_server
    handler.files['/a/weights.pth'] = checkpoint_bytes(1, name='')
    handler.files['/b/weights.pth'] = checkpoint_bytes(2, name='')
    path_a = resolve_pretrained(f'{url}/a/weights.pth', progress=False)
    path_b = resolve_pretrained(f'{url}/b/weights.pth', progress=False)
    assert path_a != path_b and os.path.basename(path_a) == os.path.basename(path_b)
    assert open(path_a, 'rb').read() == handler.files['/a/weights.pth']
    assert open(path_b, 'rb').read() == handler.files['/b/weights.pth']
    assert os.path.dirname(os.path.dirname(path_a)) == str(torch_home)


def test_a_sha256_prefix_in_the_name_is_checked_before_caching(bad_server, torch_home):
    url, handler = bad_server
    body = checkpoint_bytes(3, name='')
    digest = hashlib.sha256(body).hexdigest()
    wrong = 'abcdef01' if not digest.startswith('abcdef01') else 'abcdef02'
    handler.files[f'/r-{wrong}.pth'] = handler.files[f'/r-{digest[:10]}.pth'] = body
    with pytest.raises(DownloadError) as info:
        resolve_pretrained(f'{url}/r-{wrong}.pth', progress=False)
    assert f'the file name says -{wrong}' in str(info.value) and '\n' not in str(info.value)
    assert cache_files(torch_home) == []
    path = resolve_pretrained(f'{url}/r-{digest[:10]}.pth', progress=False)
    assert path == str(torch_home / f'r-{digest[:10]}.pth')  # torch hub's own name
    # a date is not a hash: the per-URL folder, no check
    assert cache_path(f'{url}/m-20240101.pth') != str(torch_home / 'm-20240101.pth')


def test_the_timeout_variable_must_be_a_positive_number(monkeypatch):
    for text in ('0', '-1', 'soon', 'inf', 'nan'):
        monkeypatch.setenv('SMALLBIG_MM_DOWNLOAD_TIMEOUT', text)
        with pytest.raises(CheckpointError, match='SMALLBIG_MM_DOWNLOAD_TIMEOUT'):
            download_timeout()
    monkeypatch.setenv('SMALLBIG_MM_DOWNLOAD_TIMEOUT', '2.5')
    assert download_timeout() == 2.5


# ----------------------------------------------------------------------------- MMEngine routes

MMACTION_ONLY_CONFIG = """\
_base_ = ['mmaction::_base_/models/i3d_r50.py', 'mmaction::_base_/default_runtime.py']
model = dict(
    backbone=dict(_delete_=True, type='SmallBigResNet', depth=23, base_channels=8),
    cls_head=dict(num_classes=5, in_channels=256))
"""


def mmaction_runner(tmp_path, **options):
    """A runner of a config that inherits only MMAction2's own _base_ files (no hooks of ours)."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    (tmp_path / 'cfg.py').write_text(MMACTION_ONLY_CONFIG)
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
    cfg.merge_from_dict(dict(work_dir=str(tmp_path / 'work'), **options))
    return Runner.from_cfg(cfg)


def recognizer_bytes(seed: int) -> bytes:
    """A Recognizer3D checkpoint (backbone + 5-class I3DHead) with seeded random weights."""
    body = torch.load(io.BytesIO(checkpoint_bytes(seed)), weights_only=True)
    generator = torch.Generator().manual_seed(seed)
    body['state_dict'].update(
        {
            'cls_head.fc_cls.weight': torch.randn(5, 256, generator=generator),
            'cls_head.fc_cls.bias': torch.randn(5, generator=generator),
        }
    )
    buffer = io.BytesIO()
    torch.save(body, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize('mode', ['stall', 'html', 'cut'])
def test_mmengine_load_from_url_uses_the_verified_downloader(
    bad_server, torch_home, tmp_path, mode
):
    url, handler = bad_server
    good = recognizer_bytes(4)
    handler.files['/b/epoch_3.pth'] = handler.files['/a/epoch_3.pth'] = good
    handler.mode['/b/epoch_3.pth'] = mode
    runner = mmaction_runner(tmp_path, load_from=f'{url}/b/epoch_3.pth')
    with pytest.raises(DownloadError) as info:
        runner.load_or_resume()
    assert '\n' not in str(info.value) and str(info.value).startswith(f'{url}/b/epoch_3.pth: ')
    assert cache_files(torch_home) == []

    handler.mode['/b/epoch_3.pth'] = 'plain'
    runner.load_or_resume()
    expected = torch.load(io.BytesIO(good), weights_only=True)['state_dict']
    assert torch.equal(runner.model.cls_head.fc_cls.weight, expected['cls_head.fc_cls.weight'])
    assert len(cache_files(torch_home)) == 1


def test_backbone_pretrained_url_in_an_mmaction_config(bad_server, torch_home, tmp_path):
    from mmaction.registry import MODELS
    from mmengine.config import Config

    url, handler = bad_server
    handler.files['/a/weights.pth'] = checkpoint_bytes(5, name='')
    handler.files['/b/weights.pth'] = checkpoint_bytes(6, name='')
    handler.mode['/b/weights.pth'] = 'html'
    (tmp_path / 'cfg.py').write_text(MMACTION_ONLY_CONFIG)
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))

    def build(path):
        cfg.model.backbone.update(pretrained=f'{url}{path}', pretrained2d=False)
        model = MODELS.build(cfg.model)
        model.init_weights()
        return model

    first = build('/a/weights.pth')
    with pytest.raises(DownloadError, match='an HTML page'):
        build('/b/weights.pth')  # same file name, another URL: not served from the cache
    handler.mode['/b/weights.pth'] = 'plain'
    second = build('/b/weights.pth')
    expected = torch.load(io.BytesIO(handler.files['/b/weights.pth']), weights_only=True)
    assert torch.equal(second.backbone.conv1.weight, expected['state_dict']['conv1.weight'])
    assert not torch.equal(first.backbone.conv1.weight, second.backbone.conv1.weight)


def test_train_tool_load_from_a_stalled_url_is_one_line(bad_server, torch_home, motion_data):
    from helpers import TINY_CONFIG, data_options

    url, handler = bad_server
    handler.files['/w/epoch_1.pth'] = recognizer_bytes(7)
    handler.mode['/w/epoch_1.pth'] = 'stall'
    result = run_tool_status(
        [
            PYTHON,
            'tools/train.py',
            str(TINY_CONFIG),
            '--work-dir',
            str(torch_home.parent / 'w'),
            '--cfg-options',
            f'load_from={url}/w/epoch_1.pth',
            *data_options(motion_data),
        ],
        cwd=REPO,
        TORCH_HOME=str(torch_home.parent.parent),
        SMALLBIG_MM_DOWNLOAD_TIMEOUT='1',
    )
    assert_one_error(
        result, 1, f'{url}/w/epoch_1.pth: download failed: the server sent nothing for 1 s'
    )
    assert cache_files(torch_home) == []
