"""An MMAction2 recognizer as a :class:`~.models.VideoClassifier` (needs the MMAction2 stack).

The config's pipeline (``test`` by default, or ``val``; the one its dataloader runs) prepares
each window: its frame sampler sets
the default window (``SampleFrames``: ``clip_len`` x ``frame_interval``;
``UniformSample``: segments over the whole video) and its steps after decoding (resize,
crop, format) are applied to the window's frames. ``crop`` swaps the pipeline's crop step
for a ``CenterCrop`` or ``ThreeCrop`` of the same size. The recognizer's data
preprocessor normalises; the backbone's map is pooled by the head's ``avg_pool`` (the
pre-logits) and classified by its ``fc_cls`` (heads with both: ``I3DHead`` and kin).
"""

import logging
import os
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

import smallbig_mm.mmaction  # noqa: F401  (stack fixes, registration)

from ..mmaction.config_scope import read_config
from ..utils.errors import UserError
from ..utils.pipelines import FRAME_SAMPLERS, WINDOW_SAMPLERS
from .models import CROPS, VideoClassifier

LOADING_STEPS = (
    'DecordInit',
    'DecordDecode',
    'PyAVInit',
    'PyAVDecode',
    'OpenCVInit',
    'OpenCVDecode',
    'RawFrameDecode',
    'ImageDecode',
)
"""Pipeline steps replaced by reading the video here."""
CROP_STEPS = ('CenterCrop', 'ThreeCrop')
_logger = logging.getLogger(__name__)


class ConfigModelError(UserError, ValueError):
    """A config or checkpoint that cannot serve whole-video inference, with the fix."""


class RandomWeightsWarning(UserWarning):
    """The recognizer has no trained weights: its predictions are meaningless."""


def split_pipeline(pipeline: Sequence[dict], crop: Optional[str] = None) -> Tuple[dict, List[dict]]:
    """Splits a config pipeline into its frame sampler and the steps after decoding.

    ``crop`` (``'center'`` or ``'three'``) replaces the crop step, keeping its size.

    Raises:
        ConfigModelError: no (or several) frame samplers, one whose window is not rebuilt
            here (not in :data:`~smallbig_mm.utils.pipelines.WINDOW_SAMPLERS`); a crop
            asked of a pipeline without a crop step.
    """
    samplers = [step for step in pipeline if step['type'] in FRAME_SAMPLERS]
    if len(samplers) != 1 or samplers[0]['type'] not in WINDOW_SAMPLERS:
        raise ConfigModelError(
            f'the pipeline needs exactly one frame sampler, one of {", ".join(WINDOW_SAMPLERS)} '
            f'(whose windows are rebuilt here); found {[s["type"] for s in samplers]}'
        )
    steps = [
        dict(step)
        for step in pipeline
        if step['type'] not in FRAME_SAMPLERS and step['type'] not in LOADING_STEPS
    ]
    if crop is not None:
        if crop not in CROPS:
            raise ConfigModelError(f'crop must be one of {CROPS}, got {crop!r}')
        crops = [i for i, step in enumerate(steps) if step['type'] in CROP_STEPS]
        if not crops:
            raise ConfigModelError(
                f'crop={crop!r}: the pipeline has no CenterCrop or ThreeCrop step whose size '
                'to use; leave the crop to the pipeline, or pick the other pipeline'
            )
        size = steps[crops[0]]['crop_size']
        steps[crops[0]] = dict(
            type='CenterCrop' if crop == 'center' else 'ThreeCrop', crop_size=size
        )
    return dict(samplers[0]), steps


class RecognizerVideoClassifier(VideoClassifier):
    """An MMAction2 ``Recognizer3D`` with a pooling head, and a config pipeline.

    Args:
        model: the recognizer, in eval mode.
        pipeline: the config pipeline (with its sampler).
        crop: replace the pipeline's crop (see :func:`split_pipeline`).
    """

    def __init__(
        self, model: nn.Module, pipeline: Sequence[dict], crop: Optional[str] = None
    ) -> None:
        from mmaction.registry import TRANSFORMS
        from mmengine.dataset import Compose

        head = getattr(model, 'cls_head', None)
        if not (hasattr(head, 'avg_pool') and hasattr(head, 'fc_cls')):
            raise ConfigModelError(
                f'whole-video inference needs a head that pools and classifies '
                f'(avg_pool, fc_cls; e.g. I3DHead); this config has '
                f'{type(head).__name__}'
            )
        if getattr(model, 'neck', None) is not None:
            raise ConfigModelError('whole-video inference does not support recognizers with a neck')
        sampler, steps = split_pipeline(pipeline, crop)
        self.three_crop = next(
            (step['crop_size'] for step in steps if step['type'] == 'ThreeCrop'), None
        )
        self.model = model.eval()
        self.transforms = Compose([TRANSFORMS.build(step) for step in steps])
        self.clip_len = int(sampler['clip_len'])
        self.interval = int(sampler.get('frame_interval', 1))
        self.segments = sampler['type'] == 'UniformSample'
        self.num_classes = int(head.num_classes)
        self.device = next(model.parameters()).device

    def preprocess(self, frames: np.ndarray) -> Tensor:
        frames = list(frames)
        shape = frames[0].shape[:2]
        results = dict(
            imgs=frames,
            original_shape=shape,
            img_shape=shape,
            modality='RGB',
            num_clips=1,
            clip_len=len(frames),
            frame_interval=self.interval,
            frame_inds=np.arange(len(frames)),
            label=-1,
        )
        try:
            packed = self.transforms(results)
        except AssertionError:
            if not self.three_crop:
                raise
            raise ConfigModelError(
                f"crop='three': MMAction2's ThreeCrop needs its crop ({self.three_crop}) to "
                "span the frames' short side after the pipeline's resize, which this "
                "pipeline's resize does not give; use the test pipeline (--pipeline test), "
                "whose ThreeCrop fits, or crop='center'"
            ) from None
        data = self.model.data_preprocessor(
            dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]), False
        )
        inputs = data['inputs']  # (1, V, C, T, H, W)
        return inputs.reshape((-1,) + inputs.shape[2:])

    def features(self, views: Tensor) -> Tensor:
        feats = self.model.backbone(views)
        return self.model.cls_head.avg_pool(feats).flatten(1)

    def logits(self, features: Tensor) -> Tensor:
        return self.model.cls_head.fc_cls(features)


def _quiet_init_weights(model: nn.Module) -> None:
    """``model.init_weights()`` (the config's init) without MMEngine's per-parameter log."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def build_recognizer(
    config: str,
    checkpoint: Optional[str] = None,
    cfg_options: Optional[dict] = None,
    device: str = 'cpu',
):
    """Builds the config's recognizer in eval mode, with the checkpoint's weights.

    Without a checkpoint the weights are random (the config's initialisation, seeded) and
    a :class:`RandomWeightsWarning` is issued. ImageNet inflation (``pretrained``) is
    skipped: inference needs trained weights. The checkpoint's fit is checked
    (:func:`smallbig_mm.weights.load_weights`, exact).

    Returns:
        ``(model, cfg)``; ``model.weights_meta`` is the checkpoint's record (None without
        one), as :func:`smallbig_mm.timm_models.build.create_with_weights` attaches it.

    Raises:
        ConfigModelError: a missing config or checkpoint file.
        smallbig_mm.utils.errors.UsageError: a ``cfg_options`` key the config does not
            have (write ``'+key'`` to add one) or a value of another type.
        smallbig_mm.weights.CheckpointError: a checkpoint that cannot be loaded.
    """
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    from ..mmaction.cfg_options import merge_cfg_options
    from ..weights import load_weights, read_checkpoint
    from ..weights.meta_files import checkpoint_meta

    if not os.path.isfile(config):
        raise ConfigModelError(f'config file not found: {config}')
    if checkpoint is not None and not os.path.isfile(checkpoint):
        raise ConfigModelError(f'checkpoint file not found: {checkpoint}')
    cfg = read_config(config)
    merge_cfg_options(cfg, cfg_options)  # checked: unknown keys and wrong types refused
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    backbone = cfg.model.get('backbone', {})
    if 'pretrained' in backbone:
        backbone.pretrained = None
    backbone.pop('init_cfg', None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.weights_meta = None
    if checkpoint is None:
        _quiet_init_weights(model)
        warnings.warn(
            'no checkpoint given: the recognizer has random weights, so its '
            'predictions are meaningless (this only checks that the model runs); '
            'pass --checkpoint FILE for real predictions',
            RandomWeightsWarning,
            stacklevel=2,
        )
    else:  # read once: the weights and their record
        ckpt = read_checkpoint(checkpoint)
        load_weights(model, ckpt)
        model.weights_meta = checkpoint_meta(ckpt)
    return model.to(device).eval(), cfg


def config_pipeline(cfg, which: str = 'test') -> List[dict]:
    """The ``val`` or ``test`` pipeline the runner uses (the dataloader's dataset's, else
    the ``<which>_pipeline`` variable; :func:`smallbig_mm.weights.meta_config.config_pipeline`)."""
    from ..weights.meta_config import config_pipeline as runner_pipeline

    if which not in ('val', 'test'):
        raise ConfigModelError(f"pipeline must be 'val' or 'test', got {which!r}")
    steps = runner_pipeline(cfg, which)
    if not steps:
        raise ConfigModelError(
            f'the config has no {which} pipeline ({which}_dataloader.dataset.pipeline)'
        )
    return [dict(step) for step in steps]


def from_config(
    config: str,
    checkpoint: Optional[str] = None,
    crop: Optional[str] = None,
    pipeline: str = 'test',
    cfg_options: Optional[dict] = None,
    device: str = 'cpu',
) -> RecognizerVideoClassifier:
    """A recognizer from an MMAction2 config and checkpoint, ready for :func:`infer_video`.

    Args:
        config: the config file.
        checkpoint: trained weights (any layout the package reads); ``None`` gives random
            weights and a :class:`RandomWeightsWarning`.
        crop: ``'center'``, ``'three'`` or ``None`` (the pipeline's own crop).
        pipeline: ``'test'`` (default: the test protocol, which the weights' record
            describes, so the scores equal the other front ends') or ``'val'``: whose
            sampler and transforms to use (the runner's: the dataloader's pipeline).
        cfg_options: config overrides, e.g. ``{'model.backbone.depth': 23}``, checked
            like ``--cfg-options`` (:mod:`smallbig_mm.mmaction.cfg_options`): a key the
            config does not have is refused unless written ``'+key'``.
        device: where to run.

    Example:
        >>> model = from_config('configs/recognition/smallbig/'
        ...                     'smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py',
        ...                     'work_dirs/run/epoch_20.pth')  # doctest: +SKIP
    """
    model, cfg = build_recognizer(config, checkpoint, cfg_options, device)
    classifier = RecognizerVideoClassifier(model, config_pipeline(cfg, pipeline), crop)
    classifier.cfg = cfg
    classifier.weights_meta = config_weights_meta(cfg, config, checkpoint, model.weights_meta)
    classifier.classes = list(classifier.weights_meta.classes or ()) or None
    return classifier


def config_weights_meta(cfg, config: str, checkpoint: Optional[str], recorded):
    """The record of a config front end: the config's input, the class names of the
    checkpoint's record ``recorded`` (where the config has none) and its provenance
    (:func:`~smallbig_mm.weights.meta_files.reconcile`; a checkpoint recording another
    input is reported in one line)."""
    from ..weights.meta_config import meta_from_config
    from ..weights.meta_files import reconcile

    own = meta_from_config(cfg.to_dict(), config)
    return reconcile(own, recorded, checkpoint or config, _logger)
