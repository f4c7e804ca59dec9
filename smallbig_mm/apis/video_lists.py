"""The videos a list names: plain lists and MMAction2 annotation lists (standard library).

Three kinds of list are read, one entry per non-blank line (a UTF-8 byte-order mark and
CRLF line ends are accepted):

- a **plain list**: one video path per line, relative to the list's folder;
- a ``VideoDataset`` **annotation list**: ``<path> <label> [<label> ...]``, paths relative
  to the dataset's ``data_prefix['video']``;
- a ``RawframeDataset`` **annotation list**: ``<frame folder> <total frames> <label>``
  (``<folder> <offset> <total> <label>`` with ``with_offset=True``), folders relative to
  ``data_prefix['img']``.

A list is an annotation list when every line ends in an integer label; which kind is
then the dataset's ``type`` (its ``data_prefix``, ``filename_tmpl`` and ``start_index``
come with it). Every entry gets an output ``name``: its path relative to the list's root
(the data prefix, or the list's folder), without the suffix, so ``a/clip.mp4`` and
``b/clip.mp4`` never share one.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, 'val.txt'), 'w').write('\\ufeffa/clip.mp4 3\\r\\nb/clip.mp4 1\\r\\n')
    >>> [e.name for e in read_video_list(os.path.join(folder, 'val.txt'),
    ...                                  dict(type='VideoDataset', data_prefix=dict(video=folder)))]
    ['a/clip', 'b/clip']
"""

import os
from dataclasses import dataclass
from typing import List, Optional

from ..utils.errors import UserError

LIST_SUFFIXES = ('.txt', '.list', '.csv')
"""A VIDEO_OR_LIST argument with one of these suffixes is a list."""
RAWFRAME_DATASETS = ('RawframeDataset',)


class VideoListError(UserError, ValueError):
    """A list that cannot be read (missing, empty, malformed line), naming file and line."""


@dataclass(frozen=True)
class VideoEntry:
    """One video (or frame folder) of a list.

    Attributes:
        path: the video file or frame folder, as found (prefix joined).
        name: the output name: the path relative to the list's root, without suffix.
        total_frames: frames of a frame folder; ``None`` for a video file.
        filename_tmpl, start_index: how a frame folder's images are named.
    """

    path: str
    name: str
    total_frames: Optional[int] = None
    filename_tmpl: str = 'img_{:05}.jpg'
    start_index: int = 1


def read_lines(path: str) -> List[str]:
    """The lines of a text file, without a UTF-8 byte-order mark or CR line ends.

    Example:
        >>> import tempfile
        >>> name = tempfile.NamedTemporaryFile(delete=False).name
        >>> _ = open(name, 'wb').write(b'\\xef\\xbb\\xbfa\\r\\nb\\r\\n')
        >>> read_lines(name)
        ['a', 'b']
    """
    with open(path, encoding='utf-8-sig') as f:
        return f.read().splitlines()


def _is_int(text: str) -> bool:
    return text.lstrip('-').isdigit()


def _name(path: str, root: str, strip_suffix: bool = True) -> str:
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative.startswith(os.pardir):
        relative = os.path.basename(os.path.normpath(path))
    return os.path.splitext(relative)[0] if strip_suffix else relative


def read_video_list(source: str, dataset: Optional[dict] = None) -> List[VideoEntry]:
    """The videos named by ``source``: itself, or the entries of a list file.

    Args:
        source: a video, or a list (suffix in :data:`LIST_SUFFIXES`).
        dataset: the config's dataset dict (``type``, ``data_prefix``, ``filename_tmpl``,
            ``start_index``, ``with_offset``) for annotation lists.

    Raises:
        VideoListError: a missing or empty list, a malformed line (file and line named),
            or two entries whose outputs would collide.
    """
    if os.path.splitext(source)[1].lower() not in LIST_SUFFIXES:
        return [VideoEntry(source, _name(source, os.path.dirname(os.path.abspath(source))))]
    if not os.path.isfile(source):
        raise VideoListError(f'video list not found: {source}')
    numbered = [
        (n, line.strip()) for n, line in enumerate(read_lines(source), start=1) if line.strip()
    ]
    if not numbered:
        raise VideoListError(f'video list {source} is empty: it needs one video per line')
    annotated = all(len(text.split()) >= 2 and _is_int(text.split()[-1]) for _, text in numbered)
    entries = (
        _annotation_entries(source, numbered, dataset or {})
        if annotated
        else [
            VideoEntry(
                os.path.join(os.path.dirname(source), text),
                _name(os.path.join(os.path.dirname(source), text), os.path.dirname(source)),
            )
            for _, text in numbered
        ]
    )
    seen = {}
    for entry in entries:
        if entry.name in seen:
            raise VideoListError(
                f'{source}: {seen[entry.name]} and {entry.path} would both '
                f'write {entry.name}.npy; list each video once, or rename one'
            )
        seen[entry.name] = entry.path
    return entries


def _annotation_entries(source: str, numbered, dataset: dict) -> List[VideoEntry]:
    rawframes = dataset.get('type') in RAWFRAME_DATASETS
    prefix = dict(dataset.get('data_prefix') or {}).get('img' if rawframes else 'video')
    root = prefix or os.path.dirname(source)
    entries = []
    for number, text in numbered:
        fields = text.split()
        path = os.path.join(root, fields[0])
        if not rawframes:
            entries.append(VideoEntry(path, _name(path, root)))
            continue
        at = 2 if dataset.get('with_offset') else 1
        if len(fields) < at + 2 or not _is_int(fields[at]):
            raise VideoListError(
                f'{source}, line {number}: expected "<frame folder> '
                f'{"<offset> " if at == 2 else ""}<total frames> <label>" '
                f'(RawframeDataset), got {text!r}'
            )
        offset = int(fields[1]) if at == 2 else 0
        name = _name(path, root, strip_suffix=False) + (f'@{offset}' if at == 2 else '')
        entries.append(
            VideoEntry(
                path,
                name,
                int(fields[at]),
                dataset.get('filename_tmpl', 'img_{:05}.jpg'),
                int(dataset.get('start_index', 1)) + offset,
            )
        )
    return entries
