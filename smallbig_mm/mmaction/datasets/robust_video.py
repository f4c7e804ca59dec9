"""A ``VideoDataset`` that names bad videos and bad annotation lines instead of crashing.

``RobustVideoDataset`` takes every argument of MMAction2's ``VideoDataset`` and adds:

- annotation checks when it is built (before training starts): malformed lines, missing
  videos and labels outside ``num_classes``, each reported as ``file, line N: reason``;
- per-sample protection for the decord, PyAV and OpenCV readers: a video that cannot be
  opened or decoded (unreadable, empty, truncated) or that has fewer frames than one clip
  spans (``clip_len x frame_interval`` of the pipeline's ``SampleFrames``) raises
  :class:`BadVideoError` naming the file (``on_bad_video='error'``), or is skipped with
  one warning naming the file and replaced by the next good video in index order
  (``on_bad_video='skip'``; deterministic, draws no random numbers). In test mode a bad
  video is always an error: a replacement would change the metric.
- decord reads local files by path: measured with decord 0.6.0, ``DecordInit``'s
  in-memory reading (``io.BytesIO``) crashes the whole process with a segmentation
  fault on a truncated AVI, which no Python code can catch; by path, decord opens the
  readable part or raises.

Example config::

    train_dataloader = dict(dataset=dict(
        type='RobustVideoDataset', ann_file='train.txt', data_prefix=dict(video='data'),
        num_classes=400, on_bad_video='skip', pipeline=train_pipeline))
"""

import copy
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Set, Union

from mmaction.datasets import VideoDataset
from mmaction.datasets.transforms import DecordInit
from mmaction.registry import DATASETS, TRANSFORMS
from mmengine.logging import print_log

from ...compat.mmaction import DECORD_OPEN_METHOD, decord_open
from ...data.annotations import (
    AnnotationError,
    AnnotationProblem,
    check_video_annotations,
    parse_video_annotations,
)
from ...utils.errors import UserError

POLICIES = ('error', 'skip')
MAX_FAILURES_BEFORE_ANY_SUCCESS = 10
"""If this many videos fail in a row before any loads, the pipeline (not the data) is
suspect: the dataset raises with the first error instead of skipping on."""


class BadVideoError(UserError, RuntimeError):
    """A video cannot be read, or is too short for the clip sampling."""


@TRANSFORMS.register_module()
class SafeDecordInit(DecordInit):
    """``DecordInit`` that opens local files by path (same arguments and results).

    MMAction2's ``DecordInit`` reads every file into memory and hands decord an
    ``io.BytesIO``; decord 0.6.0 crashes with a segmentation fault on truncated AVI files
    read that way. By path it reads the complete frames or raises an exception. Other
    storage backends keep the in-memory route.
    """

    def open_reader(self, filename: str) -> object:
        """A decord reader of ``filename``: by path for local files, else DecordInit's."""
        if osp.splitext(filename)[0] == filename:
            filename = filename + '.mp4'  # as DecordInit does
        if self.io_backend != 'disk' or not osp.isfile(filename):
            return decord_open(self, filename)
        import decord

        return decord.VideoReader(filename, num_threads=self.num_threads)


# DecordInit.transform opens each file through this private method
setattr(SafeDecordInit, DECORD_OPEN_METHOD, SafeDecordInit.open_reader)


def clip_span(pipeline_transforms: List[Any]) -> Optional[int]:
    """Frames one clip spans (``clip_len * frame_interval`` of the first sampler), or None."""
    for transform in pipeline_transforms:
        clip_len = getattr(transform, 'clip_len', None)
        interval = getattr(transform, 'frame_interval', None)
        if isinstance(clip_len, int) and isinstance(interval, int):
            return clip_len * interval
    return None


@DATASETS.register_module()
class RobustVideoDataset(VideoDataset):
    """``VideoDataset`` with annotation checks and bad-video handling (see the module doc).

    Args:
        ann_file, pipeline, data_prefix, multi_class, num_classes, start_index, modality,
            test_mode, delimiter: as MMAction2's ``VideoDataset``. ``num_classes`` (if
            given) also bounds single-label annotations.
        on_bad_video: ``'error'`` or ``'skip'`` (see the module docstring). Also applies
            to bad annotation lines: ``'error'`` raises :class:`AnnotationError` listing
            them; ``'skip'`` drops them with one warning listing them.
        min_frames: the fewest frames a video must have; ``'auto'`` takes
            ``clip_len * frame_interval`` of the pipeline's ``SampleFrames`` (train mode);
            None accepts short videos (MMAction2 then loops their frames).
        check_files: check at build time that every listed video exists.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: List[Union[dict, Any]],
        on_bad_video: str = 'error',
        min_frames: Union[str, int, None] = 'auto',
        check_files: bool = True,
        **kwargs,
    ) -> None:
        if on_bad_video not in POLICIES:
            raise ValueError(f'on_bad_video must be one of {POLICIES}, got {on_bad_video!r}')
        if not (min_frames in ('auto', None) or isinstance(min_frames, int) and min_frames > 0):
            raise ValueError(
                f"min_frames must be 'auto', None or a positive int, got {min_frames!r}"
            )
        self.on_bad_video = on_bad_video
        self.check_files = check_files
        self._warned: Set[str] = set()
        self._failures_before_success = 0
        self._loaded_any = False
        super().__init__(ann_file, pipeline, **kwargs)
        transforms = self.pipeline.transforms
        for i, transform in enumerate(transforms):
            if type(transform) is DecordInit:
                transforms[i] = SafeDecordInit(
                    transform.io_backend, transform.num_threads, **transform.kwargs
                )
        self.min_frames = (
            clip_span(transforms)
            if min_frames == 'auto' and not self.test_mode
            else (None if min_frames == 'auto' else min_frames)
        )

    # -- annotations ------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Reads the annotation file; reports every bad line (see ``on_bad_video``)."""
        prefix = self.data_prefix.get('video')
        entries, _ = parse_video_annotations(
            self.ann_file, prefix, self.delimiter, self.multi_class
        )
        problems = check_video_annotations(
            self.ann_file,
            prefix,
            self.num_classes,
            self.delimiter,
            self.multi_class,
            self.check_files,
            num_classes_key='dataset num_classes',
        )
        if not entries and not problems:
            problems = [AnnotationProblem(self.ann_file, 0, 'the file lists no videos')]
        bad_lines = {p.line for p in problems}
        kept = [
            dict(filename=e.filename, label=e.label) for e in entries if e.line not in bad_lines
        ]
        if problems and (self.on_bad_video == 'error' or not kept):
            raise AnnotationError(
                problems,
                hint='Fix or remove these lines, or set the '
                "dataset's on_bad_video='skip' to leave them out."
                if kept
                else 'No usable line is left.',
            )
        if problems:
            print_log(
                f"{AnnotationError(problems)}\nleaving these lines out (on_bad_video='skip')",
                logger='current',
                level=logging.WARNING,
            )
        return kept

    # -- samples ----------------------------------------------------------------------
    def _run_pipeline(self, idx: int) -> Optional[Dict]:
        """The pipeline on sample ``idx``, with the clip-length check after the reader."""
        results = copy.deepcopy(self.get_data_info(idx))
        length_checked = self.min_frames is None
        for transform in self.pipeline.transforms:
            results = transform(results)
            if results is None:
                return None
            if not length_checked and 'total_frames' in results:
                length_checked = True
                if results['total_frames'] < self.min_frames:
                    raise BadVideoError(
                        f'{results["total_frames"]} frames, fewer than one clip spans '
                        f"(clip_len x frame_interval = {self.min_frames}; set the dataset's "
                        f'min_frames=None to loop the frames of short videos instead)'
                    )
        return results

    def _load(self, idx: int) -> Optional[Dict]:
        """Sample ``idx``; None if it is bad and bad videos are skipped."""
        filename = self.get_data_info(idx).get('filename', f'sample {idx}')
        try:
            sample = self._run_pipeline(idx)
        except Exception as err:  # the readers raise RuntimeError, av errors, ValueError...
            reason = (
                err
                if isinstance(err, BadVideoError)
                else f'cannot be read: {type(err).__name__}: {str(err).strip()[:300]}'
            )
            if self.on_bad_video == 'error' or self.test_mode:
                raise BadVideoError(f'{filename}: {reason}') from err
            self._failures_before_success += not self._loaded_any
            if self._failures_before_success >= MAX_FAILURES_BEFORE_ANY_SUCCESS:
                raise BadVideoError(
                    f'the first {MAX_FAILURES_BEFORE_ANY_SUCCESS} videos tried all failed '
                    f'(the last: {filename}: {reason}); this looks like a pipeline or path '
                    f'problem rather than bad files'
                ) from err
            if filename not in self._warned:
                self._warned.add(filename)
                print_log(
                    f'skipping bad video {filename}: {reason}',
                    logger='current',
                    level=logging.WARNING,
                )
            return None
        self._loaded_any = True
        return sample

    def __getitem__(self, idx: int) -> Dict:
        """Sample ``idx``, or (skipping bad videos) the next good one in index order."""
        self.full_init()  # returns at once once done
        for offset in range(len(self)):
            sample = self._load((idx + offset) % len(self))
            if sample is not None:
                return sample
        raise BadVideoError(f'no video of {self.ann_file} could be loaded')
