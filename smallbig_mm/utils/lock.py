"""One run per work directory: a lock file naming the process that holds it (stdlib only).

``<work dir>/.smallbig-run.lock`` holds the owner's pid, host, start time, the process's
start tick (``/proc/<pid>/stat``, so that a reused pid is not taken for the owner) and
its command line. It is created atomically (written aside, then hard-linked into place,
which fails if a lock is there). A second run is refused with
:class:`WorkDirInUseError` naming the owner. A lock whose process is gone (killed runs
cannot remove theirs) is taken over, and :func:`acquire_work_dir` says so. A lock of
another host cannot be checked: it is refused, naming the host and the file to delete.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> acquire_work_dir(folder) is None   # taken; nothing to report
    True
    >>> release_work_dir(folder)
"""

import json
import os
import socket
import sys
import time
from typing import Optional

from .errors import UserError

LOCK_NAME = '.smallbig-run.lock'


class WorkDirInUseError(UserError, RuntimeError):
    """Another live run holds the work directory."""


def _start_tick(pid: int) -> Optional[int]:
    """The process's start time in clock ticks since boot (Linux), or None."""
    try:
        with open(f'/proc/{pid}/stat', encoding='utf-8') as f:
            return int(f.read().rsplit(')', 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(owner: dict) -> bool:
    pid = int(owner.get('pid', -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    recorded, now = owner.get('start_tick'), _start_tick(pid)
    return recorded is None or now is None or recorded == now


def _describe(owner: dict) -> str:
    return (
        f'pid {owner.get("pid")} on {owner.get("host")}, started {owner.get("started")}'
        f' ({owner.get("command", "?")})'
    )


def _read(path: str) -> dict:
    try:
        with open(path, encoding='utf-8') as f:
            owner = json.load(f)
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


def lock_path(work_dir: str) -> str:
    return os.path.join(work_dir, LOCK_NAME)


def acquire_work_dir(work_dir: str) -> Optional[str]:
    """Takes the work directory's lock for this process.

    Returns:
        ``None``, or the line to show when a dead run's lock was taken over.

    Raises:
        WorkDirInUseError: a live process (or one on another host) holds it.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = lock_path(work_dir)
    me = dict(
        pid=os.getpid(),
        host=socket.gethostname(),
        start_tick=_start_tick(os.getpid()),
        started=time.strftime('%Y-%m-%d %H:%M:%S'),
        command=' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[
            :200
        ],
    )
    tmp = f'{path}.{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(me, f)
    taken_over = None
    try:
        for _ in range(10):
            try:
                os.link(tmp, path)
                return taken_over
            except FileExistsError:
                pass
            owner = _read(path)
            if owner.get('pid') == me['pid'] and owner.get('host') == me['host']:
                return taken_over  # this process holds it already
            if owner and owner.get('host') != me['host']:
                raise WorkDirInUseError(
                    f'work dir {work_dir} is in use by another run: {_describe(owner)}; wait '
                    f'for it, choose another --work-dir, or, if that run is gone, delete {path}'
                )
            if owner and _alive(owner):
                raise WorkDirInUseError(
                    f'work dir {work_dir} is in use by another run: {_describe(owner)}; wait '
                    'for it to finish, stop it, or choose another --work-dir'
                )
            try:  # a dead run's (or an unreadable) lock: move it aside, then retry the link
                os.rename(path, f'{path}.stale-{os.getpid()}')
                os.remove(f'{path}.stale-{os.getpid()}')
            except FileNotFoundError:
                continue
            taken_over = (
                f'work dir {work_dir}: took over the lock of a run that is gone ('
                f'{_describe(owner) if owner else "unreadable lock file"})'
            )
        raise WorkDirInUseError(f'work dir {work_dir}: could not take its lock {path}')
    finally:
        os.remove(tmp)


def release_work_dir(work_dir: str) -> None:
    """Removes the lock if this process holds it."""
    path = lock_path(work_dir)
    owner = _read(path)
    if owner.get('pid') == os.getpid() and owner.get('host') == socket.gethostname():
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
