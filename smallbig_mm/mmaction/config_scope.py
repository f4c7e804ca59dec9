"""The ``smallbig_mm::`` config scope: ``_base_ = ['smallbig_mm::recognition/...py']``.

MMEngine resolves ``package::path`` in ``_base_`` only for the packages of its table
``mmengine.config.utils.MODULE2PACKAGE``, and does so before a config's ``custom_imports``
run, so a config cannot add this package itself. This project's tools call
:func:`register_config_scope` before they read a config; MMEngine then reads the text
configs from ``<installed smallbig_mm>/.mim/configs``: in a wheel install the wheel's
copy of the repository's ``configs/``, in an editable install (``pip install -e .``) the
checkout's ``smallbig_mm/.mim`` links to ``configs/``. Any MMEngine tool, MMAction2's
``tools/train.py`` included, can instead inherit the pure-Python form
``smallbig_mm.configs`` with ``read_base()`` (docs/installation.md, "Configs from the
installed package"); from an editable install only this project's tools can.
"""

import errno
import os
import re
from typing import Iterable

from ..compat.mmengine import config_dict

SCOPE = 'smallbig_mm'
DISTRIBUTION = 'smallbig-mm'


def register_config_scope() -> None:
    """Adds ``smallbig_mm`` to MMEngine's table of config scopes (once), and lets MMEngine
    find the configs of an editable install (:mod:`.patches.editable_installs`).

    Example:
        >>> from mmengine.config.utils import MODULE2PACKAGE
        >>> register_config_scope()
        >>> MODULE2PACKAGE['smallbig_mm']
        'smallbig-mm'
    """
    from mmengine.config.utils import MODULE2PACKAGE

    from .patches import editable_installs

    MODULE2PACKAGE.setdefault(SCOPE, DISTRIBUTION)
    editable_installs.apply(DISTRIBUTION)


def read_config(path: str):
    """``mmengine.config.Config.fromfile(path)`` with the ``smallbig_mm::`` scope known: the
    configs it names read as if they were given by path.

    Every config this package reads goes through here, so a user config inheriting
    ``smallbig_mm::...`` works in every tool and API.

    Example:
        ``read_config('my_config.py')`` on a file holding
        ``_base_ = ['smallbig_mm::recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py']``
        gives that config, as ``Config.fromfile`` would give the file in ``configs/``.
    """
    from mmengine.config import Config

    register_config_scope()
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as err:
        missing = re.fullmatch(r'file "(.*)" does not exist', str(err))
        if err.filename is not None or missing is None:
            raise
        # MMEngine names a missing `_base_` of a package scope without filename/errno
        raise FileNotFoundError(
            errno.ENOENT, f'{os.strerror(errno.ENOENT)}, a _base_ of {path}', missing.group(1)
        ) from None
    _drop_scope_marks(config_dict(cfg))
    return cfg


def _drop_scope_marks(node: object) -> None:
    """Removes the ``_scope_='smallbig_mm'`` MMEngine adds to every typed dict of a
    ``smallbig_mm::`` base: no registry has that scope, and this package's configs build in
    MMAction2's (``default_scope = 'mmaction'``), as they do when read from ``configs/``."""
    if isinstance(node, dict):
        if node.get('_scope_') == SCOPE:
            del node['_scope_']
        children: Iterable[object] = node.values()
    elif isinstance(node, (list, tuple)):
        children = node
    else:
        return
    for child in children:
        _drop_scope_marks(child)


def meta_of_config_file(path: str):
    """The weights record (:class:`~smallbig_mm.weights.meta.WeightsMeta`) an MMAction2
    config file implies, ``_base_`` files included.

    Raises:
        WeightsMetaError: the file is missing.
    """
    import os

    from ..weights.meta import WeightsMetaError
    from ..weights.meta_config import meta_from_config

    if not os.path.isfile(path):
        raise WeightsMetaError(f'config file not found: {path}')
    return meta_from_config(read_config(path).to_dict(), path)
