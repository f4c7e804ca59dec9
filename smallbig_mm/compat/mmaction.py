"""The private names of MMAction2 that the package uses.

Tested with mmaction2 1.2.0 (the stack of ``tools/setup_env.sh``). MMAction2 is imported
inside the functions, so that importing this module needs torch only.
"""

from typing import Any

TESTED_WITH = 'mmaction2 1.2.0'
PRIVATE_NAMES = (
    # DecordInit.transform opens each file through it (SafeDecordInit replaces it)
    'mmaction.datasets.transforms.DecordInit._get_video_reader',
)
DECORD_OPEN_METHOD = '_get_video_reader'
"""The method of ``DecordInit`` that opens a video file as a decord reader."""


def decord_open(transform: Any, filename: str) -> object:
    """``DecordInit``'s own way of opening ``filename`` for ``transform`` (a ``DecordInit``
    or subclass): the file is read through its ``io_backend`` into memory for decord."""
    from mmaction.datasets.transforms import DecordInit

    return getattr(DecordInit, DECORD_OPEN_METHOD)(transform, filename)
