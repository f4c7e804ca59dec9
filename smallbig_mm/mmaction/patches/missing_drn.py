"""The mmaction2 1.2.0 wheel lacks ``mmaction/models/localizers/drn``.

Upstream: open-mmlab/mmaction2#2714 (fix in PR #2721, unmerged). The folder has no
``__init__.py`` in the source tree, so packaging dropped it, and ``import mmaction.models``
fails with "No module named 'mmaction.models.localizers.drn'".

The fix puts a stub package with a ``DRN`` placeholder into ``sys.modules`` before
anything imports ``mmaction.models``. The placeholder raises an explanatory error if
anyone builds it; recognition is unaffected.
"""

import importlib.util
import os
import sys
import types
from typing import Optional

ISSUE = 'open-mmlab/mmaction2#2714'
MODULE = 'mmaction.models.localizers.drn'


def _mmaction_dir() -> Optional[str]:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def defect_present() -> bool:
    """Whether MMAction2 is installed without its drn folder (and nothing stands in yet).

    Checks the folder on disk: ``find_spec`` on the subpackage would itself run the
    failing import.
    """
    package_dir = _mmaction_dir()
    if package_dir is None or MODULE in sys.modules:
        return False
    return not os.path.isdir(os.path.join(package_dir, 'models', 'localizers', 'drn'))


def is_applied() -> bool:
    """Whether the stub of this module is in ``sys.modules``."""
    return getattr(sys.modules.get(MODULE), '__smallbig_stub__', False)


class DRN:
    """Placeholder: the DRN localizer is missing from this mmaction2 wheel."""

    def __init__(self, *args, **kwargs) -> None:
        raise ImportError(
            f'DRN is missing from the installed mmaction2 wheel ({ISSUE}); '
            'install mmaction2 from source to use it.'
        )


def apply() -> bool:
    """Installs the stub if the defect is present. Returns True if it did so now.

    Example:
        >>> apply()  # already applied by ``import smallbig_mm.mmaction``, or not needed
        False
    """
    if not defect_present():
        return False
    package = types.ModuleType(MODULE)
    package.__path__ = []  # a package, so that ``.drn.drn`` resolves
    package.__smallbig_stub__ = True
    module = types.ModuleType(f'{MODULE}.drn')
    module.DRN = DRN
    package.drn = module
    sys.modules[MODULE] = package
    sys.modules[f'{MODULE}.drn'] = module
    return True
