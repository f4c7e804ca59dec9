"""SmallBigNet video classifiers as timm models.

Paper: "SmallBigNet: Integrating Core and Contextual Views for Video Classification",
Xianhang Li, Yali Wang, Zhipeng Zhou, Yu Qiao, CVPR 2020 (arXiv 2006.14582).

Importing this module registers the ``smallbig_*`` models with timm, so that
``timm.create_model('smallbig_resnet50')`` builds a :class:`SmallBigResNetClassifier`: the
core (:class:`smallbig_mm.models.SmallBigResNet`) plus a classifier ``fc`` that pools the
clip map over time and space. Inputs are clips ``(N, 3, T, H, W)``; no pretrained weights
exist, local files load through ``pretrained_cfg_overlay=dict(file=...)`` and
:func:`checkpoint_filter_fn`.

Example:
    >>> import timm, torch
    >>> import smallbig_mm  # registers the smallbig_* models
    >>> model = timm.create_model('smallbig_resnet23', num_classes=10, base_channels=8)
    >>> model(torch.randn(2, 3, 4, 64, 64)).shape
    torch.Size([2, 10])
"""

import functools
import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from torch import Tensor, nn

from ..compat.timm import feature_take_indices
from ..models import SmallBigResNet
from ..models.smallbig_resnet import NUM_STAGES
from ..weights import CheckpointError, fetch_checkpoint, fit_weights
from ..weights.layouts import classifier_classes
from ..weights.pipeline import log_report
from .hub_config import check_hub_kwargs

__all__ = ['ClipPool', 'SmallBigNet', 'SmallBigResNetClassifier', 'checkpoint_filter_fn']

_logger = logging.getLogger(__name__)


POOL_TYPES = ('', 'avg', 'max')
"""Global pooling of :class:`ClipPool`: none (keep the 5-D map), mean or max over (T, H, W)."""


class ClipPool(nn.Module):
    """Global pooling of a clip map (N, C, T, H, W) over time and space.

    timm's own pooling layers are 2-D: on a 5-D map they would merge C and T. This one
    pools the three trailing axes and flattens to (N, C), or passes the map through.

    Args:
        pool_type: ``'avg'`` (the paper), ``'max'``, or ``''`` for no pooling.

    Example:
        >>> ClipPool('avg')(torch.randn(2, 16, 4, 7, 7)).shape
        torch.Size([2, 16])
        >>> ClipPool('')(torch.randn(2, 16, 4, 7, 7)).shape
        torch.Size([2, 16, 4, 7, 7])
    """

    def __init__(self, pool_type: str = 'avg') -> None:
        super().__init__()
        if pool_type not in POOL_TYPES:
            raise ValueError(
                f"global_pool must be one of {POOL_TYPES} ('' keeps the "
                f'(N, C, T, H, W) map), got {pool_type!r}'
            )
        self.pool_type = pool_type

    def forward(self, x: Tensor) -> Tensor:
        """Maps (N, C, T, H, W) to (N, C), or returns it unchanged for ``pool_type=''``."""
        # adaptive pooling, as MMAction2's heads do: the same logits to the last bit
        if self.pool_type == 'avg':
            return F.adaptive_avg_pool3d(x, 1).flatten(1)
        if self.pool_type == 'max':
            return F.adaptive_max_pool3d(x, 1).flatten(1)
        return x

    def extra_repr(self) -> str:
        return f'pool_type={self.pool_type!r}'


class SmallBigResNetClassifier(SmallBigResNet):
    """SmallBig-ResNet video classifier with the timm model API.

    The core network (stem, ``layer1..layer4``), then :class:`ClipPool` and a linear
    classifier ``fc``. State dict keys are the core's plus ``fc.weight`` / ``fc.bias``.

    Args:
        num_classes: classifier outputs; 0 removes the classifier (``fc`` is Identity).
        in_chans: channels of the input clip.
        global_pool: ``'avg'`` or ``'max'`` over (T, H, W), or ``''`` to keep the 5-D map
            (then ``fc`` is applied at every position, giving (N, classes, T, H, W)).
        drop_rate: dropout before ``fc`` (the reference has none; MMAction2's I3DHead 0.5).
        drop_path_rate: stochastic depth, rising linearly over the blocks.
        num_frames: the clip length the model is meant for (8: the paper's Kinetics-400
            recipe, clips of 8 frames at interval 8). Any T works at run time; data
            pipelines read it as ``model.num_frames``.
        device, dtype: where and in which dtype to create the parameters.
        **kwargs: architecture arguments of :class:`~smallbig_mm.models.SmallBigResNet`
            (``depth``, ``block_types``, ``extra_stages``, ``big_views``, ``big_kernels``,
            ``shared_big_weights``, ``base_channels``, ``zero_init_residual``, ...).

    Attributes:
        num_features: channels of the res5 map (2048 for the paper's width).
        head_hidden_size: width of what ``forward_head(x, pre_logits=True)`` returns.
        feature_info: per feature (stem, res2..res5) its channels ``num_chs``, spatial
            ``reduction`` and ``module``. There is no temporal reduction.

    Example:
        >>> model = SmallBigResNetClassifier(depth=23, base_channels=8, num_classes=5)
        >>> model(torch.randn(2, 3, 4, 64, 64)).shape
        torch.Size([2, 5])
        >>> model.forward_features(torch.randn(2, 3, 4, 64, 64)).shape
        torch.Size([2, 256, 4, 2, 2])
    """

    def __init__(
        self,
        num_classes: int = 400,
        in_chans: int = 3,
        global_pool: str = 'avg',
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        num_frames: int = 8,
        device: Optional[Union[str, torch.device]] = None,
        dtype: Optional[torch.dtype] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(in_channels=in_chans, drop_path_rate=drop_path_rate, **kwargs)
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f'drop_rate must be in [0, 1), got {drop_rate!r}')
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f'num_frames must be a positive int, got {num_frames!r}')
        self.in_chans = in_chans
        self.drop_rate = drop_rate
        self.num_frames = num_frames
        self.head_hidden_size = self.num_features
        self.feature_info: List[Dict[str, Any]] = [
            dict(num_chs=self.conv1.out_channels, reduction=2, module='act')
        ]
        for stage, channels in enumerate(self.stage_channels):
            self.feature_info.append(
                dict(num_chs=channels, reduction=4 * 2**stage, module=f'layer{stage + 1}')
            )
        self.num_classes = num_classes
        self.global_pool = ClipPool(global_pool)
        self.fc = self._make_fc(num_classes)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def _make_fc(self, num_classes: int) -> nn.Module:
        if not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(
                f'num_classes must be an int >= 0 (0: no classifier), got {num_classes!r}'
            )
        if num_classes == 0:
            return nn.Identity()
        like = next(self.parameters())
        return nn.Linear(self.num_features, num_classes, device=like.device, dtype=like.dtype)

    def group_matcher(self, coarse: bool = False) -> Dict[str, str]:
        """Regexes grouping parameters into the stem and blocks (stages if ``coarse``).

        Used by timm's layer-wise learning-rate decay; ``fc`` falls into the last group.
        """
        return dict(
            stem=r'^conv1\.|^bn1\.', blocks=r'^layer(\d+)\.' if coarse else r'^layer(\d+)\.(\d+)\.'
        )

    def get_classifier(self, name_only: bool = False) -> Union[str, nn.Module]:
        """The classifier module, or its name ``'fc'``."""
        return 'fc' if name_only else self.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        """Replaces the classifier by a fresh one with ``num_classes`` outputs.

        Args:
            num_classes: new number of classes; 0 removes the classifier.
            global_pool: new pooling (``'avg'``, ``'max'``, ``''``); None keeps the current.
        """
        if global_pool is not None:
            self.global_pool = ClipPool(global_pool)
        self.fc = self._make_fc(num_classes)
        self.fc.train(self.training)
        self.num_classes = num_classes

    def forward_stage(self, stage: int, x: Tensor) -> Tensor:
        """Runs stage ``stage`` (0 = res2); calls the stage module so its hooks fire."""
        if self.grad_checkpointing and torch.is_grad_enabled():
            return super().forward_stage(stage, x)  # block by block
        return self.stages[stage](x)

    def _stem_features(self, x: Tensor) -> Tensor:
        """The stem before its max pool: (N, C, T, H, W) -> (N, base_channels, T, H / 2, W / 2)."""
        return self.act(self.bn1(self.conv1(self.prepare_clip(x))))

    def forward_features(self, x: Tensor) -> Tensor:
        """Maps clips (N, C, T, H, W) to the res5 map (N, num_features, T, H / 32, W / 32)."""
        x = self.maxpool(self._stem_features(x))
        for stage in range(NUM_STAGES):
            x = self.forward_stage(stage, x)
        return x

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Pools the res5 map, applies dropout and (unless ``pre_logits``) the classifier.

        Args:
            x: res5 map (N, num_features, T, H, W).
            pre_logits: return the pooled features (N, head_hidden_size) instead of logits.

        Returns:
            (N, num_classes) logits, or with ``global_pool=''`` per-position logits
            (N, num_classes, T, H, W); with ``num_classes=0`` the (pooled) features.
        """
        x = self.global_pool(x)
        if self.drop_rate:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        if pre_logits:
            return x
        if self.global_pool.pool_type == '':
            return self.fc(x.movedim(1, -1)).movedim(-1, 1)
        return self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        """Maps clips (N, C, T, H, W) to logits (N, num_classes); see :meth:`forward_head`."""
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
        self,
        x: Tensor,
        indices: Optional[Union[int, List[int]]] = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = 'NCHW',
        intermediates_only: bool = False,
    ) -> Union[List[Tensor], Tuple[Tensor, List[Tensor]]]:
        """Runs the network and returns the maps of selected features (timm API).

        Args:
            x: clips (N, C, T, H, W).
            indices: which of the 5 features (0: stem, 1..4: res2..res5) to return; an int
                ``n`` takes the last ``n``, None all, negative indices count from the end.
            norm: ignored: the network has no final norm layer.
            stop_early: stop after the last requested stage.
            output_fmt: ``'NCHW'`` (timm's name for channels-first) or ``'NCTHW'``: the
                maps are always (N, C, T, H, W).
            intermediates_only: return only the list of maps.

        Returns:
            ``(final_map, maps)``, or ``maps`` if ``intermediates_only``. Without
            ``stop_early`` the final map equals :meth:`forward_features`.
        """
        if output_fmt not in ('NCHW', 'NCTHW'):
            raise ValueError(
                f'output_fmt must be NCHW or NCTHW (maps are always '
                f'(N, C, T, H, W)), got {output_fmt!r}'
            )
        take_indices, max_index = feature_take_indices(len(self.feature_info), indices)
        intermediates = []
        x = self._stem_features(x)
        if 0 in take_indices:
            intermediates.append(x)
        x = self.maxpool(x)
        for stage in range(max_index if stop_early else NUM_STAGES):
            x = self.forward_stage(stage, x)
            if stage + 1 in take_indices:
                intermediates.append(x)
        if intermediates_only:
            return intermediates
        return x, intermediates

    def prune_intermediate_layers(
        self, indices: Union[int, List[int]] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> List[int]:
        """Removes the stages (and the head) not needed for the features in ``indices``.

        Args:
            indices: features to keep, as in :meth:`forward_intermediates`.
            prune_norm: ignored: the network has no final norm layer.
            prune_head: remove the classifier (it is removed anyway when the last
                stage goes, since it was sized for it).

        Returns:
            The absolute indices kept.
        """
        take_indices, max_index = feature_take_indices(len(self.feature_info), indices)
        for stage in range(max_index, NUM_STAGES):
            setattr(self, f'layer{stage + 1}', nn.Sequential())
        if max_index == 0:
            self.maxpool = nn.Identity()
        if max_index < NUM_STAGES:
            self.num_features = self.head_hidden_size = self.feature_info[max_index]['num_chs']
        if prune_head or max_index < NUM_STAGES:
            self.reset_classifier(0, '')
        return take_indices


SmallBigNet = SmallBigResNetClassifier
"""The class's first name, kept for code that imports it."""


def checkpoint_filter_fn(
    state_dict: Mapping[str, Tensor],
    model: SmallBigResNetClassifier,
    source: str = 'the checkpoint',
) -> Dict[str, Tensor]:
    """Converts a checkpoint of any supported layout to ``model``'s keys, or raises.

    Called by timm for ``pretrained=True`` (for ``pretrained_cfg_overlay=dict(file=...)``
    the file has been read by :func:`smallbig_mm.weights.read_checkpoint`). Accepts this
    package's layouts (timm, MMAction2 recognizer, MMAction2 backbone), the reference
    SmallBigNet layout, and 2D ImageNet ResNets from torchvision, timm or MMPretrain,
    which are inflated (:mod:`smallbig_mm.weights`). Everything else goes through the
    package's weights chain (:func:`smallbig_mm.weights.fit_weights`; timm reads the file
    and loads the result):

    - a ``num_classes`` other than the pretrained config's is fine-tuning: the checkpoint's
      classifier is dropped (logged) and the model keeps its fresh one;
    - a checkpoint without a classifier (a backbone checkpoint) also keeps the fresh one
      (logged);
    - any other missing, unexpected or mis-shaped key raises a one-line error.

    Args:
        state_dict: the loaded checkpoint.
        model: the model to load into.
        source: the file, for messages.

    Returns:
        A state dict with exactly ``model``'s keys and shapes.

    Raises:
        CheckpointError: naming the file, the counts of missing, unexpected and mis-shaped
            keys, and hints.
    """
    has_classifier = any(key.endswith(('fc.weight', 'fc_cls.weight')) for key in state_dict)
    finetune = not has_classifier or model.num_classes != getattr(model, 'pretrained_cfg', {}).get(
        'num_classes'
    )
    name = getattr(model, 'pretrained_cfg', {}).get('architecture') or type(model).__name__
    try:
        state, report = fit_weights(
            state_dict,
            model,
            policy='finetune' if finetune else 'exact',
            inflate_2d=True,
            source=source,
            model_name=name,
        )
    except TypeError as err:  # timm would retry a TypeError as filter_fn(state_dict)
        raise CheckpointError(f'{source}: could not convert the checkpoint: {err}') from err
    log_report(report, _logger)  # timm loads it next, strictly
    return state


def _read_overlay_source(
    overlay: Mapping[str, Any], num_classes: Optional[int] = None
) -> Tuple[Dict[str, Any], Optional[str]]:
    """``pretrained_cfg_overlay`` with its ``file``/``url`` read here instead of by timm.

    Any source of :func:`smallbig_mm.weights.sources.resolve_pretrained` works (a file, a
    hub folder, ``torchvision://``, ``https://``, ``hf-hub:``, ``timm/``): it is located in
    (or downloaded into) the usual caches, read with the guarded reader and handed to timm
    as ``state_dict``. An explicit ``num_classes`` decides about the classifier: the
    checkpoint's class count keeps its classifier, another one fine-tunes (the
    checkpoint's classifier is dropped, and the log says so). Without one the model has
    the pretrained config's 400 classes, and a checkpoint of another count is refused
    with a hint naming it.
    """
    source = overlay.get('file') or overlay.get('url')
    if not source or 'state_dict' in overlay:
        return dict(overlay), None
    ckpt = fetch_checkpoint(source)
    out = {k: v for k, v in overlay.items() if k not in ('file', 'url')}
    out['state_dict'] = ckpt.state_dict
    if num_classes is not None:
        out.setdefault('num_classes', classifier_classes(ckpt.state_dict))
    return out, ckpt.path


def _create_smallbig(
    variant: str, pretrained: bool = False, **kwargs: Any
) -> SmallBigResNetClassifier:
    """Builds ``variant`` through timm's builder (pretrained loading, features_only)."""
    check_hub_kwargs(kwargs)  # a local-dir:/hf-hub: config.json, before anything is built
    overlay, path = kwargs.get('pretrained_cfg_overlay'), None
    if pretrained and overlay:
        kwargs['pretrained_cfg_overlay'], path = _read_overlay_source(
            overlay, kwargs.get('num_classes')
        )
    model = build_model_with_cfg(
        SmallBigResNetClassifier,
        variant,
        pretrained,
        pretrained_filter_fn=functools.partial(
            checkpoint_filter_fn, source=path or 'the checkpoint'
        ),
        feature_cfg=dict(out_indices=(0, 1, 2, 3, 4)),
        **kwargs,
    )
    for cfg_name in ('pretrained_cfg', 'default_cfg'):  # keep no second copy of the weights
        cfg = getattr(model, cfg_name, None)
        if isinstance(cfg, dict) and cfg.pop('state_dict', None) is not None:
            cfg['file'] = path
    return model


def _cfg(**kwargs: Any) -> Dict[str, Any]:
    """The pretrained config shared by the family (no weights are released)."""
    return {
        'num_classes': 400,
        'input_size': (3, 224, 224),
        'pool_size': None,
        'crop_pct': 0.875,
        'interpolation': 'bilinear',
        'mean': IMAGENET_DEFAULT_MEAN,
        'std': IMAGENET_DEFAULT_STD,
        'first_conv': 'conv1',
        'classifier': 'fc',
        'paper_ids': 'arXiv:2006.14582',
        'paper_name': 'SmallBigNet: Integrating Core and Contextual Views for Video Classification',
        'origin_url': 'https://github.com/xhl-video/SmallBigNet',
        'notes': (
            'Input: clips (N, 3, T, 224, 224), T = model.num_frames = 8 by default (the '
            "paper's Kinetics-400 recipe: 8 frames at interval 8, test crop 224 of short side "
            '256); any T works, the network has no temporal stride.',
            'No pretrained weights: the reference implementation (xhl-video/SmallBigNet) '
            'releases none and has no license file. Load a local checkpoint with '
            'pretrained=True, pretrained_cfg_overlay=dict(file=...).',
        ),
        **kwargs,
    }


default_cfgs = generate_default_cfgs(
    {
        'smallbig_resnet23': _cfg(description="SmallBig-ResNet-23, the paper's ablation backbone"),
        'smallbig_resnet50': _cfg(description='SmallBig-ResNet-50'),
        'smallbig_resnet101': _cfg(description='SmallBig-ResNet-101'),
        'smallbig_resnet50_extra': _cfg(
            description='SmallBig-ResNet-50 with the extra unit in res3-res5'
        ),
        'smallbig_c2d_resnet50': _cfg(description='C2D ResNet-50 baseline (2D blocks only)'),
        'smallbig_3d_resnet50': _cfg(
            description='3D ResNet-50 baseline (SlowOnly-like: 3x1x1 conv1 in res4-res5)'
        ),
    }
)


@register_model
def smallbig_resnet23(pretrained: bool = False, **kwargs: Any) -> SmallBigResNetClassifier:
    """SmallBig-ResNet-23 (11.4M parameters, 26.5 GMACs at 8x224x224)."""
    return _create_smallbig('smallbig_resnet23', pretrained, **dict(dict(depth=23), **kwargs))


@register_model
def smallbig_resnet50(pretrained: bool = False, **kwargs: Any) -> SmallBigResNetClassifier:
    """SmallBig-ResNet-50 (24.4M parameters, 52.0 GMACs at 8x224x224)."""
    return _create_smallbig('smallbig_resnet50', pretrained, **dict(dict(depth=50), **kwargs))


@register_model
def smallbig_resnet101(pretrained: bool = False, **kwargs: Any) -> SmallBigResNetClassifier:
    """SmallBig-ResNet-101 (43.4M parameters, 105.3 GMACs at 8x224x224)."""
    return _create_smallbig('smallbig_resnet101', pretrained, **dict(dict(depth=101), **kwargs))


@register_model
def smallbig_resnet50_extra(pretrained: bool = False, **kwargs: Any) -> SmallBigResNetClassifier:
    """SmallBig-ResNet-50 + extra unit in res3-res5 (32.3M parameters, 62.7 GMACs at 8x224x224)."""
    model_args = dict(depth=50, extra_stages=(False, True, True, True))
    return _create_smallbig('smallbig_resnet50_extra', pretrained, **dict(model_args, **kwargs))


@register_model
def smallbig_c2d_resnet50(pretrained: bool = False, **kwargs: Any) -> SmallBigResNetClassifier:
    """C2D ResNet-50 baseline, 2D blocks only (24.3M parameters, 32.7 GMACs at 8x224x224)."""
    model_args = dict(depth=50, block_types=('2d', '2d', '2d', '2d'))
    return _create_smallbig('smallbig_c2d_resnet50', pretrained, **dict(model_args, **kwargs))


@register_model
def smallbig_3d_resnet50(pretrained: bool = False, **kwargs: Any) -> SmallBigResNetClassifier:
    """3D ResNet-50 baseline, 3D blocks in res4-res5 (32.5M parameters, 41.7 GMACs at 8x224x224)."""
    model_args = dict(depth=50, block_types=('2d', '2d', '3d', '3d'))
    return _create_smallbig('smallbig_3d_resnet50', pretrained, **dict(model_args, **kwargs))
