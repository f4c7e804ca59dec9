"""Downloading a checkpoint URL into torch hub's cache, verified before it is cached.

:func:`download_url` is the one downloader of ``https://`` / ``http://`` / ``torchvision://``
sources, on every route (the backbone's ``pretrained``, timm's ``pretrained_cfg_overlay``,
``hubconf.py``, ``smallbig_mm.apis`` and MMEngine's ``load_from`` / ``init_cfg`` URLs, which
:mod:`smallbig_mm.mmaction.patches.mmengine_checkpoints` routes here).

Cache entry of a URL (:func:`cache_path`), in torch hub's folder
(``$TORCH_HOME/hub/checkpoints``):

- a file name that carries a sha256 prefix (``NAME-<hex>.EXT``, torch hub's and
  torchvision's convention, :func:`hash_prefix`) is checked against it and cached under
  that name, as torch hub and torchvision do: the name fixes the content, so two URLs that
  share it share the file;
- any other URL gets a folder of its own, ``url-<first 16 hex of sha256(URL)>/NAME``, so
  ``.../a/weights.pth`` and ``.../b/weights.pth`` never share a cache entry.

A download goes to a temporary file beside the entry and becomes the entry (an atomic
rename) only once verified: the body has the announced ``Content-Length``, it is not an
HTML page, its name's sha256 prefix matches, and the guarded reader
(:func:`~.io.read_raw_checkpoint`, or the safetensors header) reads it. Anything else
is removed and ends in one line naming the URL (:class:`DownloadError`); the next try
downloads again. A server that sends nothing for ``SMALLBIG_MM_DOWNLOAD_TIMEOUT``
seconds (default 60) ends the same way.
"""

import hashlib
import http.client
import os
import re
import socket
import sys
from typing import Optional
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

import torch

from ..utils.files import atomic_output
from .errors import CheckpointError
from .io import read_raw_checkpoint

TIMEOUT_VAR = 'SMALLBIG_MM_DOWNLOAD_TIMEOUT'
"""Environment variable: seconds a download may receive nothing before it is abandoned."""
DEFAULT_TIMEOUT = 60.0
HASH_IN_NAME = re.compile(r'-([a-f0-9]{8,})\.')
"""torch hub's ``check_hash`` pattern (``-([a-f0-9]*)\\.``), at least 8 hex digits long."""
_CHUNK = 1 << 20
_OFFLINE_VARS = ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')


class DownloadError(CheckpointError):
    """A URL could not be downloaded, or what came back is not the checkpoint it names.

    The message is one line: the URL, what went wrong, that nothing was cached, and how to
    put the file into the cache by hand.
    """


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to 1/true/yes/on.

    Example:
        >>> import os
        >>> os.environ['HF_HUB_OFFLINE'] = '1'; is_offline()
        True
        >>> del os.environ['HF_HUB_OFFLINE']
    """
    return any(
        os.environ.get(var, '').strip().upper() in ('1', 'ON', 'YES', 'TRUE')
        for var in _OFFLINE_VARS
    )


def torch_hub_cache() -> str:
    """The folder torch hub, torchvision and MMEngine download checkpoints to."""
    return os.path.join(torch.hub.get_dir(), 'checkpoints')


def download_timeout() -> float:
    """Seconds a download may receive nothing: ``$SMALLBIG_MM_DOWNLOAD_TIMEOUT``, else 60.

    Raises:
        DownloadError: the variable is not a positive number.

    Example:
        >>> download_timeout()
        60.0
    """
    text = os.environ.get(TIMEOUT_VAR, '').strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = float('nan')
    if not seconds > 0 or seconds == float('inf'):
        raise DownloadError(f'{TIMEOUT_VAR}={text!r}: not a positive number of seconds')
    return seconds


def hash_prefix(filename: str) -> Optional[str]:
    """The sha256 prefix a file name carries (``resnet50-0676ba61.pth`` -> ``'0676ba61'``).

    torch hub's convention; a run of decimal digits only (``model-20240101.pth``, a date)
    is not taken for one.

    Example:
        >>> hash_prefix('resnet50-0676ba61.pth'), hash_prefix('epoch-20240101.pth')
        ('0676ba61', None)
    """
    found = HASH_IN_NAME.search(filename)
    return found.group(1) if found and not found.group(1).isdigit() else None


def _file_name(url: str) -> str:
    name = os.path.basename(urlparse(url).path)
    if not name or name in ('.', '..'):
        raise DownloadError(f'{url}: the URL names no file')
    return name


def cache_path(url: str, check_hash: bool = False) -> str:
    """The torch hub cache entry of ``url`` (see the module docstring).

    Args:
        url: an ``http(s)://`` URL.
        check_hash: the name carries a sha256 prefix even if it is all digits.

    Example:
        >>> a = cache_path('https://example.org/a/weights.pth')
        >>> b = cache_path('https://example.org/b/weights.pth')
        >>> a != b and os.path.basename(a) == os.path.basename(b) == 'weights.pth'
        True
        >>> os.path.basename(cache_path('https://example.org/x/resnet50-0676ba61.pth'))
        'resnet50-0676ba61.pth'
    """
    name = _file_name(url)
    if hash_prefix(name) or (check_hash and HASH_IN_NAME.search(name)):
        return os.path.join(torch_hub_cache(), name)
    folder = 'url-' + hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
    return os.path.join(torch_hub_cache(), folder, name)


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip()[:256].lower()
    return text.startswith((b'<!doctype html', b'<html', b'<head', b'<body')) or (
        text.startswith(b'<') and b'<html' in text
    )


def _receive(url: str, tmp: str, timeout: float, progress: bool) -> str:
    """Writes the body of ``url`` to ``tmp``; returns its sha256 hex digest."""
    request = Request(url, headers={'User-Agent': 'smallbig-mm'})
    with urlopen(request, timeout=timeout) as response:  # timeout: per connect and read
        if response.headers.get_content_type() == 'text/html':
            raise DownloadError(
                f'{url}: the server sent an HTML page (Content-Type '
                'text/html), not a checkpoint: a login, error or download '
                'page? Use the direct link to the file'
            )
        length = response.headers.get('Content-Length')
        expected = int(length) if length and length.strip().isdigit() else None
        digest, received = hashlib.sha256(), 0
        bar = _progress_bar(expected, progress)
        with open(tmp, 'wb') as f:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                if not received and _looks_like_html(chunk):
                    raise DownloadError(
                        f'{url}: the server sent an HTML page, not a '
                        'checkpoint: a login, error or download page? Use '
                        'the direct link to the file'
                    )
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        if bar is not None:
            bar.close()
    if expected is not None and received != expected:
        raise DownloadError(
            f'{url}: the body was cut: {received:,} of the {expected:,} bytes '
            'the server announced (Content-Length) arrived; try again'
        )
    return digest.hexdigest()


def _progress_bar(total: Optional[int], progress: bool):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit='B', unit_scale=True, unit_divisor=1024, file=sys.stderr)


def _reason(err: BaseException) -> str:
    if isinstance(err, HTTPError):
        return f'HTTP {err.code} {err.reason}'
    reason = getattr(err, 'reason', err)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return 'timed out'
    lines = str(reason).strip().splitlines()
    return f'{type(err).__name__}: {lines[0] if lines else ""}'.rstrip(': ')


def _verify(url: str, tmp: str, digest: str, check_hash: bool) -> None:
    """Refuses a body whose name's sha256 prefix differs, or that is not a checkpoint."""
    name = _file_name(url)
    found = HASH_IN_NAME.search(name) if check_hash else None
    prefix = found.group(1) if found else hash_prefix(name)
    if prefix and not digest.startswith(prefix):
        raise DownloadError(
            f'{url}: its sha256 is {digest[: len(prefix)]}..., but the file '
            f"name says -{prefix} (torch hub's check_hash convention): a "
            'corrupt or replaced file'
        )
    try:
        read_raw_checkpoint(tmp)
    except CheckpointError as err:
        what = str(err).split(': ', 1)[-1]
        raise DownloadError(
            f'{url}: what the server sent is not a readable checkpoint ({what})'
        ) from None


def download_url(url: str, check_hash: bool = False, progress: bool = True) -> str:
    """The torch hub cache's copy of ``url``, downloaded and verified if missing and online.

    Args:
        url: an ``http(s)://`` URL.
        check_hash: the file name carries a sha256 prefix (``NAME-<hex>.pth``) to check,
            even an all-digit one (torchvision's URLs). Names with a prefix containing a
            letter are checked in any case.
        progress: show a progress bar (tqdm, on stderr) while downloading.

    Returns:
        The cache entry, :func:`cache_path`.

    Raises:
        DownloadError: offline and not cached, or the download failed, stalled, or sent
            something that is not the checkpoint (one line, naming the URL, the cache path
            and how to put the file there). Nothing is left in the cache.

    Example:
        >>> os.environ['HF_HUB_OFFLINE'] = '1'
        >>> download_url('https://example.org/w.pth')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.download.DownloadError: https://example.org/w.pth: not in ...
        >>> del os.environ['HF_HUB_OFFLINE']
    """
    path = cache_path(url, check_hash)
    if os.path.isfile(path):
        return path
    name = os.path.basename(path)
    place = (
        f'download it where there is a network (e.g. curl -L -o {name} {url}) and put '
        f'it at {path} (or pass its path instead)'
    )
    if is_offline():
        raise DownloadError(
            f'{url}: not in the torch hub cache ({path}) and HF_HUB_OFFLINE is '
            f'set, so nothing is downloaded: {place}'
        )
    timeout = download_timeout()
    try:
        with atomic_output(path, force=True) as tmp:
            digest = _receive(url, tmp, timeout, progress)
            _verify(url, tmp, digest, check_hash)
    except DownloadError as err:
        raise DownloadError(f'{err}; nothing was cached; {place}') from None
    except http.client.IncompleteRead as err:
        raise DownloadError(
            f'{url}: the body was cut: the connection ended after '
            f'{len(err.partial):,} more bytes, {err.expected or 0:,} short; '
            f'nothing was cached; {place}'
        ) from None
    except (socket.timeout, TimeoutError):
        raise DownloadError(
            f'{url}: download failed: the server sent nothing for '
            f'{timeout:g} s ({TIMEOUT_VAR}); nothing was cached; {place}'
        ) from None
    except (URLError, OSError, ValueError, http.client.HTTPException) as err:
        if isinstance(getattr(err, 'reason', None), (socket.timeout, TimeoutError)):
            raise DownloadError(
                f'{url}: download failed: no connection within {timeout:g} s '
                f'({TIMEOUT_VAR}); nothing was cached; {place}'
            ) from None
        raise DownloadError(
            f'{url}: download failed ({_reason(err)}); nothing was cached; {place}'
        ) from None
    return path
