"""Writing files so that nothing a user made is lost.

Every file this package writes goes through :func:`atomic_output`: the data goes to a
temporary file in the target's folder, which is flushed to disk and renamed over the
target only once complete. A crash, a full disk or a failed encoder leaves the previous
file (or none) in place, never a half-written one. New files and folders get the modes
the process umask gives (``0o666 & ~umask``, ``0o777 & ~umask``), like ``open`` and
``mkdir`` would. An existing target is refused unless ``force``.
"""
import contextlib
import os
from typing import Iterator, Optional, Union

PathLike = Union[str, 'os.PathLike[str]']
TMP_MARK = '.tmp-'
"""Marks temporary files: ``.<name>.tmp-<pid><suffix>`` beside the target."""


class OutputExistsError(FileExistsError):
    """The output file exists and overwriting was not asked for (``--force``)."""


def check_output_path(path: PathLike, force: bool = False,
                      inputs: tuple = ()) -> str:
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
        ValueError: ``path`` is one of ``inputs``, or an existing folder.

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
        if source is not None and os.path.exists(source) and os.path.exists(path) and \
                os.path.samefile(source, os.fspath(path)):
            raise ValueError(f'{path}: the output would overwrite the input {source}; '
                             'choose another output name')
    if os.path.isdir(path):
        raise ValueError(f'{path} is a folder; give a file name')
    if os.path.exists(path) and not force:
        raise OutputExistsError(f'{path} exists; refusing to overwrite it (pass --force to replace it)')
    return path


def umask_mode(base: int = 0o666) -> int:
    """``base`` less the process umask: the mode ``open``/``mkdir`` would give a new entry."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def _fsync_folder(folder: str) -> None:
    if hasattr(os, 'O_DIRECTORY'):  # makes the rename itself durable (POSIX)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(path: PathLike, force: bool = False, inputs: tuple = (),
                  suffix: Optional[str] = None) -> Iterator[str]:
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
    os.makedirs(folder, exist_ok=True)
    if suffix is None:
        suffix = os.path.splitext(name)[1]
    tmp = os.path.join(folder, f'.{name}{TMP_MARK}{os.getpid()}{suffix}')
    os.close(os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o666))
    try:
        yield tmp
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.chmod(tmp, umask_mode())  # writers that replace the file (safetensors) reset it
        if os.path.exists(path) and not force:  # appeared while we were writing
            raise OutputExistsError(f'{path} exists; refusing to overwrite it (pass --force to replace it)')
        os.replace(tmp, path)
        _fsync_folder(folder)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
