"""MMEngine reads local checkpoints with ``torch.load`` and ``weights_only`` left unset.

Upstream: open-mmlab/mmengine#1655 (fix in PR #1650, unmerged). mmengine 0.10.7's
``load_from_local`` calls ``torch.load(filename, map_location)``. On torch >= 2.6 that
loads with ``weights_only=True`` by default and refuses every training checkpoint MMEngine
itself wrote (they pickle ``HistoryBuffer`` objects and numpy arrays), so ``--resume``,
``load_from=``, ``tools/test.py`` and ``init_cfg=dict(type='Pretrained')`` end in a
40-line traceback that suggests ``weights_only=False``. And because ``weights_only`` is
left unset, ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns it off and a pickle's code runs.

Its URL loaders are worse: ``http(s)://``, ``torchvision://``/``modelzoo://`` and
``open-mmlab://``/``mmcls://`` end in ``torch.hub.load_state_dict_from_url``, whose
``weights_only`` defaults to False, so a downloaded pickle's code runs with no
environment variable at all.

The fix registers :func:`load_from_local` as ``CheckpointLoader``'s reader of local
paths (the ``''`` scheme) and :func:`load_from_url` for those URL schemes: both read
through the package's one guarded reader, :func:`smallbig_mm.weights.read_raw_checkpoint`,
which passes ``weights_only=True`` explicitly and allows the training-checkpoint types
only during that read (nothing is added to torch's global allow-list), and turn every
failure into a one-line :class:`~smallbig_mm.weights.CheckpointError` naming the file.
URLs are downloaded into torch hub's cache by the package's one downloader
(:func:`smallbig_mm.weights.sources.resolve_pretrained`, :mod:`smallbig_mm.weights.download`: a
per-URL cache entry, ``SMALLBIG_MM_DOWNLOAD_TIMEOUT``, nothing cached unless verified).
The storage back ends ``pavi://``, ``s3://`` and ``petrel://`` keep MMEngine's loaders,
which call ``torch.load`` with ``weights_only`` unset (safe by default on torch >= 2.6,
not with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``).
"""

import importlib.util
import os
import os.path as osp
from typing import Any

from ...compat.mmengine import checkpoint_schemes

ISSUE = 'open-mmlab/mmengine#1655'


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local-file loader, reading through the guarded reader.

    Args:
        filename: a local path (``~`` expanded).
        map_location: as for ``torch.load``.

    Returns:
        The object the file holds (MMEngine reads ``meta``, ``state_dict``, ...).

    Raises:
        CheckpointError: naming the file, for a missing, truncated, corrupt or unsafe file.
    """
    from ...weights import read_raw_checkpoint

    return read_raw_checkpoint(osp.expanduser(filename), map_location=map_location)


URL_SCHEMES = (
    'http://',
    'https://',
    'torchvision://',
    'modelzoo://',
    'open-mmlab://',
    'openmmlab://',
    'mmcls://',
)
"""The prefixes :func:`load_from_url` serves instead of MMEngine's URL loaders."""


def _url_of(filename: str) -> str:
    """The download URL (or ``torchvision://NAME``) behind an MMEngine checkpoint name."""
    if filename.startswith('modelzoo://'):
        return 'torchvision://' + filename[len('modelzoo://') :]
    for prefix, table in (
        ('open-mmlab://', 'get_external_models'),
        ('openmmlab://', 'get_external_models'),
        ('mmcls://', 'get_mmcls_models'),
    ):
        if filename.startswith(prefix):
            from mmengine.runner import checkpoint as mmengine_checkpoint

            from ...weights import CheckpointError

            name = filename[len(prefix) :]
            urls = getattr(mmengine_checkpoint, table)()
            if name not in urls:
                raise CheckpointError(f'{filename}: MMEngine knows no model of that name')
            url = urls[name]
            return (
                url
                if '://' in url
                else os.path.join(os.path.dirname(mmengine_checkpoint.__file__), url)
            )
    return filename


def load_from_url(filename: str, map_location: Any = None) -> Any:
    """MMEngine's URL loaders, downloading into torch hub's cache and reading safely.

    Args:
        filename: ``http(s)://...``, ``torchvision://NAME`` (or ``modelzoo://``),
            ``open-mmlab://NAME`` or ``mmcls://NAME``.
        map_location: as for ``torch.load``.

    Returns:
        The object the file holds.

    Raises:
        CheckpointError: one line naming the URL: not downloadable, unsafe or corrupt.
    """
    from ...weights import read_raw_checkpoint
    from ...weights.sources import resolve_pretrained

    return read_raw_checkpoint(resolve_pretrained(_url_of(filename)), map_location=map_location)


def defect_present() -> bool:
    """Whether MMEngine is installed (every 0.10.x release reads local files this way)."""
    return importlib.util.find_spec('mmengine') is not None


def is_applied() -> bool:
    """Whether local paths and URLs are read by :func:`load_from_local` / :func:`load_from_url`."""
    if not defect_present():
        return False
    schemes = checkpoint_schemes()
    return schemes.get('') is load_from_local and all(
        schemes.get(prefix) is load_from_url for prefix in URL_SCHEMES
    )


def apply() -> bool:
    """Routes MMEngine's local checkpoint reads through the guarded reader. True if done now."""
    if not defect_present() or is_applied():
        return False
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(prefixes=URL_SCHEMES, loader=load_from_url, force=True)
    return True
