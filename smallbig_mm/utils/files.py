"""Writing files so that nothing a user made is lost.

Every file this package writes goes through :func:`atomic_output`: the data goes to a
temporary file in the target's folder, which is flushed to disk and renamed over the
target only once complete. A crash, a full disk or a failed encoder leaves the previous
file (or none) in place, never a half-written one; a full disk (also behind the
``RuntimeError`` of ``torch.save``) is a :class:`DiskFullError` naming the file. New files and folders get the modes
the process umask gives (``0o666 & ~umask``, ``0o777 & ~umask``), like ``open`` and
``mkdir`` would. An existing target is refused unless ``force``.
"""

import contextlib
import errno
import os
import secrets
from typing import Iterator, Optional, Union

from .errors import UsageError, UserError

PathLike = Union[str, 'os.PathLike[str]']
TMP_MARK = '.tmp-'
"""Marks temporary files: ``.<name>.tmp-<pid><suffix>`` beside the target."""


class OutputExistsError(UserError, FileExistsError):
    """The output file exists and overwriting was not asked for (``--force``)."""


class OutputPathError(UsageError):
    """The output names a folder, or one of the tool's own input files."""


class FolderNotWritableError(UserError, OSError):
    """A folder the run must write into cannot be created or written."""


class DiskFullError(UserError, OSError):
    """The disk (or quota) filled up while a file was written; the message names the file
    and what was kept."""


FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


def disk_full_error(err: OSError, path: str, kept: bool) -> DiskFullError:
    """A :class:`DiskFullError` for ``err`` (ENOSPC or EDQUOT) raised while writing ``path``.

    Example:
        >>> str(disk_full_error(OSError(errno.ENOSPC, 'No space left on device'), 'a.npy', False))
        'a.npy: no space left on device while writing it; nothing was written (the partial temporary file is removed): free some space or choose another disk'
    """
    what = 'the disk quota is exhausted' if err.errno == errno.EDQUOT else 'no space left on device'
    state = (
        f'the previous {os.path.basename(path)} is kept unchanged'
        if kept
        else 'nothing was written'
    )
    return DiskFullError(
        f'{path}: {what} while writing it; {state} (the partial temporary '
        'file is removed): free some space or choose another disk'
    )


def full_disk_cause(err: BaseException) -> Optional[OSError]:
    """The ENOSPC/EDQUOT ``OSError`` behind ``err``, if a full disk caused it, else None.

    ``torch.save`` into a file object turns the file's ``OSError`` into a
    ``RuntimeError`` (``[enforce fail at inline_container.cc] unexpected pos ...``) whose
    ``__context__`` is the ``OSError``; the chain of causes and contexts is searched.

    Example:
        >>> try:
        ...     try:
        ...         raise OSError(errno.ENOSPC, 'No space left on device')
        ...     except OSError:
        ...         raise RuntimeError('unexpected pos 704 vs 598')
        ... except RuntimeError as err:
        ...     full_disk_cause(err).errno == errno.ENOSPC
        True
    """
    seen = set()
    link: Optional[BaseException] = err
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, OSError) and link.errno in FULL_DISK:
            return link
        link = link.__cause__ or link.__context__
    return None


def check_output_path(path: PathLike, force: bool = False, inputs: tuple = ()) -> str:
    """Checks that ``path`` may be written, before any work is done.

    Args:
        path: the output file.
        force: allow replacing an existing file.
        inputs: files the tool reads; writing onto any of them is refused even with
            ``force``.

    Returns:
        ``path`` as a string.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is False.
        OutputPathError: ``path`` is one of ``inputs``, or an existing folder (a
            ``ValueError``).
        FolderNotWritableError: its folder cannot be created or written.

    Example:
        >>> import tempfile
        >>> existing = tempfile.NamedTemporaryFile(delete=False).name
        >>> check_output_path(existing)
        Traceback (most recent call last):
        ...
        smallbig_mm.utils.files.OutputExistsError: ... exists; refusing to overwrite it (pass --force to replace it)
    """
    path = os.fspath(path)
    for source in inputs:
        if (
            source is not None
            and os.path.exists(source)
            and os.path.exists(path)
            and os.path.samefile(source, os.fspath(path))
        ):
            raise OutputPathError(
                f'{path}: the output would overwrite the input {source}; choose another output name'
            )
    if os.path.isdir(path):
        raise OutputPathError(f'{path} is a folder; give a file name')
    if os.path.exists(path) and not force:
        raise OutputExistsError(
            f'{path} exists; refusing to overwrite it (pass --force to replace it)'
        )
    check_folder_writable(os.path.dirname(os.path.abspath(path)), 'the folder of')
    return path


def umask_mode(base: int = 0o666) -> int:
    """``base`` less the process umask: the mode ``open``/``mkdir`` would give a new entry."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to another user
        return True
    return True


def remove_stale_temporaries(folder: str, name: str = '*') -> list:
    """Removes ``.<name>.tmp-<pid>*`` files of writers that were killed (their pid is gone).

    Args:
        folder: where the targets are.
        name: the target's file name, or a glob pattern (``'*.pth'``).

    Returns:
        The paths removed.
    """
    import fnmatch

    removed = []
    for entry in os.listdir(folder) if os.path.isdir(folder) else ():
        target, mark, rest = entry[1:].rpartition(TMP_MARK)
        pid = rest.split('.')[0].split('-')[0]
        if (
            entry.startswith('.')
            and mark
            and fnmatch.fnmatchcase(target, name)
            and pid.isdigit()
            and not _process_alive(int(pid))
        ):
            path = os.path.join(folder, entry)
            if os.path.isfile(path):
                os.remove(path)
                removed.append(path)
    return removed


def _fsync_folder(folder: str) -> None:
    if hasattr(os, 'O_DIRECTORY'):  # makes the rename itself durable (POSIX)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(
    path: PathLike, force: bool = False, inputs: tuple = (), suffix: Optional[str] = None
) -> Iterator[str]:
    """Yields a temporary path to write; renames it over ``path`` when the block succeeds.

    The temporary file lies in the same folder (so the rename is atomic), keeps the
    target's suffix (writers that choose a format by suffix see the right one) and is
    created empty with the umask's modes. On an exception it is removed and ``path`` is
    left as it was.

    Args:
        path: the file to produce. Missing parent folders are created (umask modes).
        force: replace an existing ``path``; otherwise it is refused up front.
        inputs: files being read, which ``path`` must not be.
        suffix: the temporary file's suffix; default: that of ``path``.

    Example:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), 'out.txt')
        >>> with atomic_output(target) as tmp:
        ...     with open(tmp, 'w') as f:
        ...         _ = f.write('done')
        >>> open(target).read()
        'done'
    """
    path = check_output_path(path, force, inputs)
    folder, name = os.path.split(os.path.abspath(path))
    ensure_writable_folder(folder, f'the folder of {path},')
    if suffix is None:
        suffix = os.path.splitext(name)[1]
    remove_stale_temporaries(folder, name)
    tmp = os.path.join(folder, f'.{name}{TMP_MARK}{os.getpid()}{suffix}')
    os.close(os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o666))
    try:
        try:
            yield tmp
            with open(tmp, 'rb+') as f:
                os.fsync(f.fileno())
        except (OSError, RuntimeError) as err:
            full = None if isinstance(err, UserError) else full_disk_cause(err)
            if full is None:
                raise
            raise disk_full_error(full, path, os.path.exists(path)) from err
        os.chmod(tmp, umask_mode())  # writers that replace the file (safetensors) reset it
        if os.path.exists(path) and not force:  # appeared while we were writing
            raise OutputExistsError(
                f'{path} exists; refusing to overwrite it (pass --force to replace it)'
            )
        os.replace(tmp, path)
        _fsync_folder(folder)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def ensure_writable_folder(path: PathLike, what: str = 'folder') -> str:
    """Creates ``path`` if missing (umask modes) and checks that a file can be made in it.

    Run it before long work, so that an unwritable output folder is reported at once
    instead of after hours of training.

    Args:
        path: the folder.
        what: how to name it in the message, e.g. ``'--work-dir'``.

    Returns:
        ``path`` as a string.

    Raises:
        FolderNotWritableError: naming the folder, the reason and the fix.

    Example:
        >>> ensure_writable_folder('/dev/null/runs', '--work-dir')
        Traceback (most recent call last):
        ...
        smallbig_mm.utils.files.FolderNotWritableError: --work-dir /dev/null/runs cannot be created or written (a part of the path is a file, not a folder): ...
    """
    path = os.fspath(path)
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f'.write-test{TMP_MARK}{os.getpid()}')
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.remove(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        if isinstance(err, (FileExistsError, NotADirectoryError)):
            reason = 'a part of the path is a file, not a folder'
        raise FolderNotWritableError(
            f'{what} {path} cannot be created or written ({reason}): choose a folder you '
            f'can write, or fix its permissions'
        ) from err
    return path


def check_folder_writable(path: PathLike, what: str = 'folder') -> str:
    """Checks, without creating anything, that ``path`` exists as a writable folder or can
    be created: its nearest existing ancestor must be a folder this process may write.

    Raises:
        FolderNotWritableError: naming the folder, the reason and the fix.

    Example:
        >>> check_folder_writable('/dev/null/runs', '--work-dir')
        Traceback (most recent call last):
        ...
        smallbig_mm.utils.files.FolderNotWritableError: --work-dir /dev/null/runs cannot be created or written (/dev/null is a file, not a folder): ...
    """
    path = os.fspath(path)
    existing = os.path.abspath(path)
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    reason = None
    if not os.path.isdir(existing):
        reason = f'{existing} is a file, not a folder'
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = f'no permission to write in {existing}'
    if reason is not None:
        raise FolderNotWritableError(
            f'{what} {path} cannot be created or written ({reason}): '
            f'choose a folder you can write, or fix its permissions'
        )
    return path


def make_temp_folder(beside: PathLike) -> str:
    """Creates an empty folder next to ``beside`` to build it in, with the umask's modes.

    Unlike ``tempfile.mkdtemp`` (mode 0700), the folder gets ``0o777 & ~umask``, so that
    renaming it over ``beside`` gives the modes a plain ``mkdir`` would.

    Example:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), 'dataset')
        >>> os.path.basename(make_temp_folder(target)).startswith('.dataset' + TMP_MARK)
        True
    """
    parent, name = os.path.split(os.path.abspath(os.fspath(beside)))
    os.makedirs(parent, exist_ok=True)
    for _ in range(100):
        folder = os.path.join(parent, f'.{name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}')
        try:
            os.mkdir(folder, 0o777)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, 'no free temporary folder name', parent)


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


@contextlib.contextmanager
def atomic_folder(path: PathLike, force: bool = False, inputs: tuple = ()) -> Iterator[str]:
    """Yields an empty temporary folder to fill; renames it to ``path`` when the block succeeds.

    The folder is built beside ``path`` (:func:`make_temp_folder`, umask modes) and
    replaces it in two renames, so ``path`` is never half written. An existing non-empty
    ``path`` is refused up front unless ``force``; a ``path`` holding one of ``inputs``, or
    a file where the folder would go, is refused even with ``force``. On an exception
    the temporary folder is removed and ``path`` is left as it was.

    Example:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), 'hub')
        >>> with atomic_folder(target) as tmp:
        ...     open(os.path.join(tmp, 'config.json'), 'w').close()
        >>> os.listdir(target)
        ['config.json']
    """
    import shutil

    path = os.path.abspath(os.fspath(path))
    for source in inputs:
        if source is not None and os.path.exists(source) and _inside(source, path):
            raise OutputPathError(
                f'{path}: the output folder holds the input {source}, which '
                'replacing it would delete; choose another output folder'
            )
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OutputPathError(
            f'{path} is a file, not a folder; refusing to replace it with a '
            'folder, even with --force: choose another output folder'
        )
    if os.path.isdir(path) and os.listdir(path) and not force:
        raise OutputExistsError(
            f'{path} exists and is not empty; refusing to replace it (pass --force to replace it)'
        )
    tmp = make_temp_folder(path)
    old = None
    try:
        yield tmp
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
        if os.path.exists(path):
            old = make_temp_folder(path)
            os.rename(path, os.path.join(old, 'previous'))
        os.rename(tmp, path)
        _fsync_folder(os.path.dirname(path))
    finally:
        for leftover in (tmp, old):
            if leftover is not None and os.path.isdir(leftover):
                shutil.rmtree(leftover)
