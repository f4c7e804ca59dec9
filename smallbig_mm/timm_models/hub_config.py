"""Checks what timm's ``local-dir:`` and ``hf-hub:`` hand a ``smallbig_*`` entry point.

``timm.create_model('local-dir:FOLDER')`` (or ``'hf-hub:ORG/NAME'``) reads the folder's
``config.json`` itself and calls the architecture's entry point with its ``model_args`` as
keyword arguments and its ``pretrained_cfg``. :func:`check_hub_kwargs` runs first in the
entry point, so that the config is validated
(:func:`smallbig_mm.weights.validate.read_hub_config`) before anything is built, and a key
that would make timm read another file (``checkpoint_path``, a ``pretrained_cfg`` with
another ``file``, ``url`` or ``hf_hub_id``) is refused in one line naming the file.

timm parses ``config.json`` before the entry point runs; a file its JSON reader cannot
take (nested thousands deep) fails there, in timm. The project's own routes
(:func:`smallbig_mm.timm_models.build.create_with_weights`: ``hubconf.py`` and
``smallbig_mm.apis``) check the file's size and depth first.
"""

import os
from typing import Any, Mapping, Optional

from ..weights.validate import read_hub_config, validate_model_args, validate_pretrained_cfg


def _cached_hub_config(repo: str) -> Optional[str]:
    """The Hugging Face cache's ``config.json`` of ``ORG/NAME[@REV]`` (timm just fetched it)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    repo_id, _, revision = repo.partition('@')
    path = try_to_load_from_cache(repo_id, 'config.json', revision=revision or None)
    return path if isinstance(path, str) else None


def check_hub_kwargs(kwargs: Mapping[str, Any]) -> None:
    """Validates the ``config.json`` behind an entry point's ``pretrained_cfg``, if any.

    Args:
        kwargs: the entry point's keyword arguments. Only a ``pretrained_cfg`` dict whose
            ``source`` is ``'local-dir'`` or ``'hf-hub'`` (set by timm when it read a
            ``config.json``) is checked; other calls pass unchanged.

    Raises:
        MetadataError: the ``config.json`` (named) holds a value of the wrong type, size
            or range, an unknown model argument, or a key that points at other weights.

    Example:
        >>> check_hub_kwargs({'depth': 23})  # not from a hub folder: nothing to check
    """
    cfg = kwargs.get('pretrained_cfg')
    source = cfg.get('source') if isinstance(cfg, Mapping) else None
    if source == 'local-dir':
        folder = os.fspath(cfg.get('file') or '')
        path = os.path.join(folder, 'config.json')
        read_hub_config(path)
        validate_pretrained_cfg(cfg, f'{path}: pretrained_cfg', own_location={'file': folder})
    elif source == 'hf-hub':
        repo = str(cfg.get('hf_hub_id') or '')
        path = _cached_hub_config(repo) or f'hf-hub:{repo} config.json'
        if os.path.isfile(path):
            read_hub_config(path)
        validate_pretrained_cfg(cfg, f'{path}: pretrained_cfg', own_location={'hf_hub_id': repo})
        validate_model_args(kwargs.get('pretrained_model_args') or {}, f'{path}: model_args')
