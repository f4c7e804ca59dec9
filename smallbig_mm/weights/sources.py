"""Where pretrained weights come from: URLs, torchvision, timm and Hugging Face names, folders.

:func:`resolve_pretrained` turns a source string into a local weights file, using the
caches users already have:

| source | file | cache |
|---|---|---|
| ``torchvision://resnet50`` | torchvision's ImageNet-1k V1 weights (the file MMEngine's ``torchvision://`` means) | torch hub: ``torch.hub.get_dir()/checkpoints`` |
| ``https://...``, ``http://...`` | the URL's file (:func:`~.download.cache_path` names the entry) | torch hub: ``torch.hub.get_dir()/checkpoints`` |
| ``hf-hub:ORG/NAME[@REV]``, ``timm/NAME`` | ``model.safetensors`` (else ``pytorch_model.bin``) of the Hub repository | Hugging Face: ``$HF_HOME/hub`` |
| ``timm:NAME`` | the weights timm's pretrained config names (Hub repository or URL) | as above |
| a file | itself | |
| a folder (``local-dir:`` optional) | its ``model.safetensors`` (else ``pytorch_model.bin``): a hub folder | |

A cached file is used as is; otherwise it is downloaded (:func:`~.download.download_url`,
which verifies the file before it enters the cache, or ``huggingface_hub.hf_hub_download``;
both write a temporary file and rename it). With
``HF_HUB_OFFLINE=1`` nothing is downloaded, and a file that is not cached is a one-line
:class:`~.errors.CheckpointError` naming the URL, the cache path and how to put the file
there. The files are only located here; every read goes through
:func:`~.io.read_checkpoint` (:func:`fetch_checkpoint` does both). A hub folder's or Hub
repository's ``config.json`` also names the architecture: :func:`source_config`.
"""

import os
import re
from typing import Any, Dict, Optional, Tuple

import torch  # noqa: F401  (the doctest of fetch_checkpoint)

from .download import download_url
from .errors import CheckpointError
from .io import Checkpoint, read_checkpoint
from .validate import read_hub_config

TORCHVISION_URLS = {
    'resnet50': 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
    'resnet101': 'https://download.pytorch.org/models/resnet101-63fe2227.pth',
    'resnet152': 'https://download.pytorch.org/models/resnet152-394f9c45.pth',
}
"""``torchvision://NAME`` -> URL: torchvision's ``IMAGENET1K_V1`` weights, as MMEngine maps them."""

HUB_WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
"""Weight files of a hub folder or Hub repository, in order of preference (timm's names)."""

LOCAL_DIR = 'local-dir:'
"""timm's prefix for a local hub folder; optional here."""


def strip_local_dir(source: str) -> str:
    """``source`` without timm's optional ``local-dir:`` prefix."""
    return source[len(LOCAL_DIR) :] if source.startswith(LOCAL_DIR) else source


def source_config(source: str) -> Dict[str, Any]:
    """The ``config.json`` of a hub folder or Hub repository (``architecture``,
    ``model_args``, ...); ``{}`` for other sources, or where there is none.

    Hub folders are what ``smallbig-convert --to hf`` writes; their ``architecture`` is the
    timm model name and ``model_args`` its ``timm.create_model`` arguments (depth, widths,
    block types...).

    Raises:
        MetadataError: a ``config.json`` that is too large, not JSON, or holds a value of
            the wrong type, size or range (:func:`~.validate.read_hub_config`); one line
            naming it. A :class:`~.errors.CheckpointError`.

    Example:
        >>> source_config('weights.pth')
        {}
    """
    source = strip_local_dir(os.fspath(source))
    if source.startswith('hf-hub:'):
        try:
            path = download_hf(source[len('hf-hub:') :], ('config.json',))
        except CheckpointError:  # none there; fetching the weights names any other problem
            return {}
    else:
        path = os.path.join(source, 'config.json')
        if not (os.path.isdir(source) and os.path.isfile(path)):
            return {}
    return read_hub_config(path)


def hub_folder_weights(folder: str) -> str:
    """The weights file of a hub folder (``model.safetensors``, else ``pytorch_model.bin``).

    Raises:
        CheckpointError: if the folder holds neither.
    """
    for name in HUB_WEIGHT_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise CheckpointError(
        f'{folder}: a folder, but it holds no {" or ".join(HUB_WEIGHT_FILES)} '
        '(a hub folder written by tools/convert_checkpoint.py --to hf has both '
        'config.json and model.safetensors)'
    )


def _split_revision(repo: str) -> Tuple[str, Optional[str]]:
    repo_id, _, revision = repo.partition('@')
    if not re.fullmatch(r'[\w.\-]+/[\w.\-]+', repo_id):
        raise CheckpointError(f'hf-hub:{repo}: expected hf-hub:ORG/NAME[@REVISION]')
    return repo_id, revision or None


def download_hf(repo: str, filenames: Tuple[str, ...] = HUB_WEIGHT_FILES) -> str:
    """The Hugging Face cache's copy of a Hub repository's weights, downloaded if needed.

    Args:
        repo: ``ORG/NAME`` or ``ORG/NAME@REVISION``.
        filenames: files to try in order (the first the repository has is used).

    Returns:
        The cached file (under ``$HF_HOME/hub/models--ORG--NAME/snapshots/...``).

    Raises:
        CheckpointError: ``huggingface_hub`` missing, the repository or files missing,
            or offline and not cached (naming the cache and the command that fills it).
    """
    try:
        from huggingface_hub import constants, hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            OfflineModeIsEnabled,
        )
    except ImportError:
        raise CheckpointError(
            f'hf-hub:{repo}: Hugging Face sources need the huggingface_hub '
            'package: pip install huggingface_hub'
        ) from None
    repo_id, revision = _split_revision(repo)
    not_cached = []
    for filename in filenames:
        try:
            return hf_hub_download(repo_id, filename, revision=revision)
        except LocalEntryNotFoundError:  # offline (or no network) and not in the cache
            not_cached.append(filename)
        except EntryNotFoundError:  # the repository has no such file
            continue
        except (OfflineModeIsEnabled, HfHubHTTPError, OSError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise CheckpointError(f'hf-hub:{repo}: {type(err).__name__}: {first}') from None
    if not_cached:
        raise CheckpointError(
            f'hf-hub:{repo}: {" / ".join(not_cached)} not in the Hugging Face cache '
            f'{constants.HF_HUB_CACHE} and it could not be downloaded (HF_HUB_OFFLINE='
            f'{os.environ.get("HF_HUB_OFFLINE", "")!s}): run `hf download {repo_id}` where '
            'there is a network and copy that cache here (same HF_HOME), or pass a local '
            'file or folder'
        )
    raise CheckpointError(f'hf-hub:{repo}: the repository has none of {", ".join(filenames)}')


def _timm_source(name: str) -> str:
    """``timm:NAME`` -> ``hf-hub:...`` or a URL, from timm's pretrained config."""
    try:
        from timm.models import get_pretrained_cfg
    except ImportError:
        return f'hf-hub:timm/{name}'  # timm's weights live in the Hub's timm organisation
    cfg = get_pretrained_cfg(name)
    if cfg is None:
        raise CheckpointError(
            f'timm:{name}: timm knows no pretrained weights of that name '
            '(use MODEL.TAG, e.g. timm:resnet50.a1_in1k)'
        )
    if cfg.hf_hub_id:
        return f'hf-hub:{cfg.hf_hub_id}'
    if isinstance(cfg.url, tuple):  # timm's (url, file name) form
        return cfg.url[0]
    if cfg.url:
        return cfg.url
    raise CheckpointError(f'timm:{name}: its timm config has neither a Hub id nor a URL')


def resolve_pretrained(source: str, progress: bool = True) -> str:
    """Turns a pretrained source into a local weights file, downloading into the usual caches.

    Args:
        source: ``torchvision://NAME``, ``http(s)://...``, ``hf-hub:ORG/NAME[@REV]``,
            ``timm/NAME``, ``timm:NAME``, a file, or a hub folder (optionally
            ``local-dir:FOLDER``). See the module docstring.
        progress: show a progress bar while downloading.

    Returns:
        The path of the weights file (read it with :func:`~.io.read_checkpoint`).

    Raises:
        CheckpointError: an unknown ``scheme://``, a missing file, or a download that
            failed or was not allowed (one line, with what to do).

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> open(os.path.join(folder, 'model.safetensors'), 'wb').close()
        >>> resolve_pretrained(folder) == os.path.join(folder, 'model.safetensors')
        True
    """
    source = strip_local_dir(os.fspath(source))
    if os.path.isdir(source):
        return hub_folder_weights(source)
    if os.path.exists(source):
        return source
    if source.startswith('torchvision://'):
        name = source[len('torchvision://') :]
        if name not in TORCHVISION_URLS:
            raise CheckpointError(
                f'{source}: unknown torchvision name; known: '
                f'{", ".join(sorted(TORCHVISION_URLS))} (or give a URL or file)'
            )
        return download_url(TORCHVISION_URLS[name], check_hash=True, progress=progress)
    if source.startswith(('https://', 'http://')):
        return download_url(source, progress=progress)
    if source.startswith('hf-hub:'):
        return download_hf(source[len('hf-hub:') :])
    if source.startswith('timm:'):
        return resolve_pretrained(_timm_source(source[len('timm:') :]), progress)
    if re.fullmatch(r'timm/[\w.\-]+(@[\w.\-]+)?', source):
        return download_hf(source)
    if '://' in source:
        raise CheckpointError(
            f'{source}: unsupported source; use torchvision://NAME, http(s)://..., '
            'hf-hub:ORG/NAME, timm/NAME, timm:NAME, a file or a hub folder'
        )
    raise CheckpointError(f'{source}: no such file or folder')


def fetch_checkpoint(source: str, progress: bool = True) -> Checkpoint:
    """:func:`resolve_pretrained` then the guarded :func:`~.io.read_checkpoint`.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'w.pth')
        >>> torch.save({'w': torch.ones(1)}, path)
        >>> list(fetch_checkpoint(path).state_dict)
        ['w']
    """
    return read_checkpoint(resolve_pretrained(source, progress))
