"""MMEngine looks for an editable install's configs where the package is, not in site-packages.

Upstream: no issue found (mmengine 0.10.7). ``Config`` finds the folder of an installed package,
for ``_base_ = ['pkg::...']`` and for ``read_base()`` imports, with
``mmengine.utils.get_installed_path``: the distribution's location joined with the module
name. A wheel puts the package there. An editable install (``pip install -e .``; PEP 660,
setuptools >= 64) leaves the package in the source checkout and records site-packages as
the location, so MMEngine names a folder that does not exist and the base is not found.

The fix: where MMEngine's answer is not a folder, the folder the module is imported from
(``importlib.util.find_spec``), which for an editable install is the checkout's. Nothing is
written anywhere. Unlike the stack fixes, this one is not applied by
``import smallbig_mm.mmaction`` (MMAction2's own tools read a config before they import
this package): :func:`smallbig_mm.mmaction.config_scope.register_config_scope` applies it,
so this package's tools and APIs get it before they read a config.
"""

import importlib.util
import os
from typing import Callable

from .wrapping import install, is_patched

ISSUE = (
    'none upstream found (mmengine 0.10.7): get_installed_path names <site-packages>/<module> '
    'for a PEP 660 editable install, whose package is in the source checkout'
)


def _config_module():
    """``mmengine.config.config``, whose ``get_installed_path`` ``Config`` calls."""
    import mmengine.config.config as config_module

    return config_module


def package_folder(package: str, mmengine_path: Callable[[str], str]) -> str:
    """The folder of installed ``package``: MMEngine's answer if it is a folder, else the
    folder its module is imported from.

    Args:
        package: a distribution (``smallbig-mm``) or module name.
        mmengine_path: MMEngine's ``get_installed_path``.
    """
    path = mmengine_path(package)
    if os.path.isdir(path):
        return path
    # MMEngine's path ends with the module name (the distribution's top_level.txt)
    spec = importlib.util.find_spec(os.path.basename(path))
    if spec is not None and spec.origin is not None:
        return os.path.dirname(spec.origin)
    return path


def defect_present(package: str) -> bool:
    """Whether MMEngine names a folder that does not exist for installed ``package``."""
    from mmengine.utils import get_installed_path

    try:
        return not os.path.isdir(get_installed_path(package))
    except Exception:  # not installed: nothing to find, nothing to fix
        return False


def is_applied() -> bool:
    """Whether ``Config`` finds packages through :func:`package_folder`."""
    return is_patched(_config_module(), 'get_installed_path')


def apply(package: str) -> bool:
    """Lets ``Config`` find installed packages' folders if the defect is present for
    ``package``. True if done now.

    Example:
        >>> apply('smallbig-mm')  # doctest: +SKIP
        True
    """
    if is_applied() or not defect_present(package):
        return False
    config_module = _config_module()
    original = config_module.get_installed_path

    def get_installed_path(name: str) -> str:
        return package_folder(name, original)

    install(config_module, 'get_installed_path', get_installed_path)
    return True
