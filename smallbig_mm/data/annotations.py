"""Annotation lists of MMAction2's ``VideoDataset``, read with line numbers and checked.

A ``VideoDataset`` annotation file has one ``<video path> <label>`` line per video
(``<video path> <label> <label> ...`` with ``multi_class=True``). MMAction2 1.2.0 reads
it without checks: a missing video fails at its first load, maybe hours in and inside a
dataloader worker; a label outside ``num_classes``, or a line without a label (read as
-1), fails inside the loss with "Target 7 is out of bounds", naming neither file nor
line; an empty list fails with "need at least one array to concatenate".
:func:`check_video_annotations` finds all of them before training starts and reports
``file, line N`` for each.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..utils.errors import UserError

Label = Union[int, List[int]]
MAX_LISTED = 20
"""Problems spelled out in an :class:`AnnotationError` message (the rest are counted)."""


@dataclass(frozen=True)
class AnnotationEntry:
    """One video of an annotation file."""
    line: int
    """1-based line number in the file."""
    filename: str
    """The video path joined with the data prefix."""
    label: Label
    """Class index (-1: no label), or a list of them for multi-class files."""


@dataclass(frozen=True)
class AnnotationProblem:
    """Something wrong with one line of an annotation file."""
    ann_file: str
    line: int
    """1-based line number; 0 for a problem of the whole file."""
    reason: str

    def __str__(self) -> str:
        where = f', line {self.line}' if self.line else ''
        return f'{self.ann_file}{where}: {self.reason}'


class AnnotationError(UserError, ValueError):
    """An annotation file has lines that would fail (or silently mislead) training.

    Attributes:
        problems: every problem found, in file order.
    """

    def __init__(self, problems: Sequence[AnnotationProblem], hint: str = '') -> None:
        self.problems = list(problems)
        listed = '\n  '.join(str(p) for p in self.problems[:MAX_LISTED])
        more = len(self.problems) - MAX_LISTED
        tail = f'\n  ... and {more} more' if more > 0 else ''
        files = sorted({p.ann_file for p in self.problems})
        super().__init__(f'{len(self.problems)} bad annotation line(s) in '
                         f'{", ".join(files)}:\n  {listed}{tail}' + (f'\n{hint}' if hint else ''))


def parse_video_annotations(ann_file: str, data_prefix: Optional[str] = None,
                            delimiter: str = ' ', multi_class: bool = False,
                            ) -> Tuple[List[AnnotationEntry], List[AnnotationProblem]]:
    """Reads a ``VideoDataset`` annotation file, keeping line numbers.

    Args:
        ann_file: the annotation list.
        data_prefix: folder the video paths are relative to (``data_prefix['video']``).
        delimiter: field separator (MMAction2's default: one space).
        multi_class: lines hold several labels.

    Returns:
        The well-formed entries, and the problems of the malformed lines (too many or
        too few fields, a label that is not an integer). Empty lines are skipped.

    Example:
        >>> import tempfile
        >>> ann = osp.join(tempfile.mkdtemp(), 'train.txt')
        >>> _ = open(ann, 'w').write('a.mp4 0\\nb.mp4 x\\n')
        >>> entries, problems = parse_video_annotations(ann)
        >>> entries[0].filename, entries[0].label, problems[0].line
        ('a.mp4', 0, 2)
    """
    entries, problems = [], []
    with open(ann_file, encoding='utf-8', errors='replace') as f:
        lines = f.read().splitlines()  # CRLF too: MMAction2 strips the CR with the line
    if lines and lines[0].startswith('\ufeff'):
        problems.append(AnnotationProblem(ann_file, 1, (
            'the file starts with a UTF-8 byte-order mark, which MMAction2 reads as part of '
            'the first path; save it without one (e.g. sed -i "1s/^\\xEF\\xBB\\xBF//" FILE)')))
        lines[0] = lines[0][1:]
    last = max((n for n, text in enumerate(lines, start=1) if text.strip()), default=0)
    for number, text in enumerate(lines, start=1):
        fields = text.strip().split(delimiter)
        bad = lambda reason: problems.append(AnnotationProblem(ann_file, number, reason))  # noqa: E731
        if not text.strip():
            if number < last:  # MMAction2 reads a blank line as a video with an empty name
                bad('blank line: MMAction2 would read it as a video without a name; delete it')
            continue
        if not multi_class and len(fields) > 2:
            bad(f'expected "<video> <label>", got {len(fields)} fields in {text.strip()!r} '
                f'(a delimiter inside the file name? set the dataset\'s delimiter)')
            continue
        if multi_class and len(fields) < 2:
            bad(f'expected "<video> <label> [<label> ...]", got {text.strip()!r}')
            continue
        try:
            labels = [int(v) for v in fields[1:]]
        except ValueError:
            bad(f'the label must be an integer class index, got {" ".join(fields[1:])!r}')
            continue
        label: Label = labels if multi_class else (labels[0] if labels else -1)
        filename = osp.join(data_prefix, fields[0]) if data_prefix else fields[0]
        entries.append(AnnotationEntry(number, filename, label))
    return entries, problems


def find_entry_problems(entries: Sequence[AnnotationEntry], ann_file: str,
                        num_classes: Optional[int] = None, check_files: bool = True,
                        num_classes_key: str = 'num_classes',
                        require_labels: bool = True) -> List[AnnotationProblem]:
    """Missing videos, missing labels and labels outside ``0 .. num_classes - 1``.

    Args:
        entries: from :func:`parse_video_annotations`.
        ann_file: the file they came from (for the messages).
        num_classes: number of classes (None: labels are not range-checked).
        check_files: check that each video exists (one ``stat`` per line).
        num_classes_key: the config key to name in label messages.
        require_labels: every line needs a label (training, validation and testing
            lists: the loss and the accuracy read it); False accepts lines without one
            (or with -1), as lists for prediction only may have.

    Returns:
        One problem per bad line, in file order.
    """
    problems = []
    for entry in entries:
        # -1 (or nothing) marks a line without a label; multi-class labels are indices
        labels = entry.label if isinstance(entry.label, list) else \
            [lb for lb in [entry.label] if lb != -1]
        if check_files and not osp.isfile(entry.filename):
            problems.append(AnnotationProblem(ann_file, entry.line,
                                              f'video not found: {entry.filename}'))
        elif require_labels and not labels:
            problems.append(AnnotationProblem(
                ann_file, entry.line, 'no label (missing or -1): training and evaluation '
                'need "<video> <label>" with a class index on every line'))
        elif num_classes is not None and any(not 0 <= lb < num_classes for lb in labels):
            problems.append(AnnotationProblem(
                ann_file, entry.line,
                f'label {entry.label} is outside 0..{num_classes - 1} '
                f'({num_classes_key}={num_classes})'))
    return problems


_cache: Dict[tuple, List[AnnotationProblem]] = {}


def check_video_annotations(ann_file: str, data_prefix: Optional[str] = None,
                            num_classes: Optional[int] = None, delimiter: str = ' ',
                            multi_class: bool = False, check_files: bool = True,
                            num_classes_key: str = 'num_classes',
                            require_labels: bool = True) -> List[AnnotationProblem]:
    """Every problem of an annotation file: malformed lines, missing videos, bad labels.

    A file that lists no video at all is one problem (line 0). Arguments as in
    :func:`parse_video_annotations` and :func:`find_entry_problems`.

    Results are cached per file (path, size and modification time), so the command-line
    check and the dataset's own check read a large list once.

    Example:
        >>> import tempfile
        >>> ann = osp.join(tempfile.mkdtemp(), 'train.txt')
        >>> _ = open(ann, 'w').write('missing.mp4 5\\n')
        >>> [str(p).split(': ', 1)[1] for p in check_video_annotations(ann, num_classes=2,
        ...                                                              check_files=False)]
        ['label 5 is outside 0..1 (num_classes=2)']
        >>> _ = open(ann, 'w').write('a.mp4\\n')
        >>> [p.reason[:8] for p in check_video_annotations(ann, check_files=False)]
        ['no label']
    """
    if not osp.isfile(ann_file):
        return [AnnotationProblem(ann_file, 0, 'annotation file not found')]
    stat = os.stat(ann_file)
    key = (osp.abspath(ann_file), stat.st_size, stat.st_mtime_ns, data_prefix, num_classes,
           delimiter, multi_class, check_files, num_classes_key, require_labels)
    if key not in _cache:
        entries, problems = parse_video_annotations(ann_file, data_prefix, delimiter,
                                                    multi_class)
        if not entries and not problems:
            problems.append(AnnotationProblem(
                ann_file, 0, 'the file lists no videos (it is empty or holds only blank '
                'lines); give a list with one "<video> <label>" line per video'))
        problems += find_entry_problems(entries, ann_file, num_classes, check_files,
                                        num_classes_key, require_labels)
        _cache[key] = sorted(problems, key=lambda p: p.line)
    return list(_cache[key])
