"""Checkpoint files that are either complete or absent.

Upstream: no MMEngine issue; a behaviour this package adds. mmengine 0.10.7's
``save_checkpoint`` (``mmengine/runner/checkpoint.py``) writes to the final name, so a run
killed while saving leaves a truncated ``epoch_N.pth`` in place of a good one, and
``--resume auto`` then picks it.

The fix routes ``Runner.save_checkpoint``'s local writes through
:func:`atomic_torch_save` (a temporary file beside the target, flushed to disk, then
renamed over it). Remote paths (``s3://``, ``pavi://``, ...) keep MMEngine's own writer.
A full disk while saving (``torch.save`` raises a ``RuntimeError`` whose context is the
``ENOSPC`` ``OSError``) becomes a :class:`~smallbig_mm.utils.files.DiskFullError` naming
the file and the newest checkpoint kept: one ``error:`` line in ``smallbig-train``.
"""

import os

import torch
from mmengine.runner import runner as runner_module

from ...utils.files import DiskFullError, atomic_output
from .wrapping import apply_once, install, is_patched

ISSUE = 'none upstream; behaviour added: MMEngine writes checkpoints in place'


def atomic_torch_save(obj: object, path: str) -> None:
    """``torch.save`` to ``path`` so that the file is either complete or absent.

    Goes through :func:`smallbig_mm.utils.files.atomic_output`; the runner's checkpoints
    replace older ones of the same name.

    Raises:
        DiskFullError: the disk filled up; the message names ``path``, and the newest
            checkpoint in its folder, which is kept.

    Example:
        >>> import os.path as osp, tempfile
        >>> path = osp.join(tempfile.mkdtemp(), 'epoch_1.pth')
        >>> atomic_torch_save({'meta': {'epoch': 1}}, path)
        >>> torch.load(path)['meta']
        {'epoch': 1}
    """
    try:
        with atomic_output(path, force=True) as tmp, open(tmp, 'wb') as f:
            torch.save(obj, f)
    except DiskFullError as err:
        raise DiskFullError(f'{err}; {_kept_checkpoints(path)}') from err


def _kept_checkpoints(path: str) -> str:
    """What a run stopped by a full disk while saving ``path`` still has, for the message."""
    folder = os.path.dirname(os.path.abspath(path))
    saved = [
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if name.endswith('.pth') and not name.startswith('.')
    ]
    if not saved:
        return 'no checkpoint of this run was saved before'
    newest = max(saved, key=os.path.getmtime)
    return (
        f'the checkpoints saved before are kept (newest: {newest}): after freeing space, '
        'continue from it with --resume'
    )


def _is_local(path: str) -> bool:
    return '://' not in path or path.startswith('file://')


def defect_present() -> bool:
    """Whether the runner writes checkpoints with MMEngine's in-place writer (it does)."""
    return True


def is_applied() -> bool:
    """Whether the runner's ``save_checkpoint`` is this module's."""
    return is_patched(runner_module, 'save_checkpoint')


def _install() -> None:
    original = runner_module.save_checkpoint

    def save_checkpoint(
        checkpoint: dict, filename: str, file_client_args=None, backend_args=None
    ) -> None:
        if file_client_args is None and backend_args is None and _is_local(filename):
            atomic_torch_save(
                checkpoint,
                filename[len('file://') :] if filename.startswith('file://') else filename,
            )
        else:
            original(
                checkpoint, filename, file_client_args=file_client_args, backend_args=backend_args
            )

    install(runner_module, 'save_checkpoint', save_checkpoint)


def apply() -> bool:
    """Makes the runner's local checkpoint writes atomic. True if done now."""
    return apply_once(defect_present, is_applied, _install)
