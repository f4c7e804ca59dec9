"""MMAction2 adapter: the ``SmallBigResNet`` backbone in MMAction2's MODELS registry.

A thin layer over the plain-PyTorch core (:class:`smallbig_mm.models.SmallBigResNet`)
with the contract of MMAction2's ResNet3d: ``out_indices``, ``frozen_stages``,
``norm_eval``, ``with_cp``, ``conv_cfg``/``norm_cfg``/``act_cfg``, ``pretrained`` /
``pretrained2d`` and ``init_cfg``. Parameter names are the core's, so checkpoints move
between this backbone and the timm models by stripping ``backbone.``.

Example config::

    model = dict(
        type='Recognizer3D',
        backbone=dict(type='SmallBigResNet', depth=50, pretrained='torchvision://resnet50'),
        cls_head=dict(type='I3DHead', in_channels=2048, num_classes=400))
"""

import copy
from typing import Optional, Sequence, Tuple, Union

from mmaction.registry import MODELS
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmcv.cnn.bricks.wrappers import Conv3d as MMCVConv3d
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor

from ..compat.torch import BatchNormBase
from ..models import DEFAULT_BIG_KERNELS
from ..models import SmallBigResNet as CoreSmallBigResNet
from ..models.fastpath.inference import register_fusable_conv
from ..models.smallbig_resnet import NUM_STAGES, StageSpec
from ..models.units import BigKernel

# conv_cfg=dict(type='Conv3d') builds MMCV's wrapper, which only adds empty-input handling
register_fusable_conv(MMCVConv3d)

OutIndices = Union[int, Sequence[int]]


def _pretrained_init(init_cfg: Optional[Union[dict, list]]) -> Optional[dict]:
    """The ``type='Pretrained'`` entry of ``init_cfg`` (a dict or a list of dicts), if any."""
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    found = [e for e in entries if isinstance(e, dict) and e.get('type') == 'Pretrained']
    if len(found) > 1:
        raise ValueError('init_cfg has more than one Pretrained entry')
    return found[0] if found else None


def _check_out_indices(out_indices: OutIndices) -> Tuple[int, ...]:
    indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
    if not indices or any(not isinstance(i, int) or not 0 <= i < NUM_STAGES for i in indices):
        raise ValueError(
            f'out_indices must be a stage index in 0..{NUM_STAGES - 1} '
            f'(0 = res2) or a non-empty sequence of them, got {out_indices!r}'
        )
    return indices


@MODELS.register_module()
class SmallBigResNet(CoreSmallBigResNet, BaseModule):
    """SmallBig-ResNet backbone for MMAction2 (``backbone=dict(type='SmallBigResNet')``).

    The same network as the core :class:`smallbig_mm.models.SmallBigResNet`, with
    MMAction2's backbone contract; its name in the registry is its class name.

    Takes every argument of the core :class:`~smallbig_mm.models.SmallBigResNet`
    (``depth``, ``block_types``, ``extra_stages``, ``big_views``, ``big_kernels``,
    ``shared_big_weights``, ``base_channels``, ``fast_path``, ...) plus:

    Args:
        pretrained: a checkpoint file, a hub folder (``tools/convert_checkpoint.py --to
            hf``), ``'torchvision://resnet50'``, an ``https://`` URL, ``'hf-hub:ORG/NAME'``,
            ``'timm/resnet50.a1_in1k'`` or ``'timm:NAME'``: downloaded into the torch hub or
            Hugging Face cache when online, read from it offline
            (:mod:`smallbig_mm.weights.sources`). None: random init.
        pretrained2d: inflate ``pretrained`` if it is a 2D ImageNet ResNet (True), or
            refuse 2D weights (False). A SmallBig-ResNet (3D) checkpoint loads either way;
            its classifier, if any, is not used (and the log says so).
        out_indices: stage index (0 = res2) whose map the forward returns as a tensor,
            or a sequence of indices, for which it returns a tuple of maps.
        frozen_stages: freeze the stem (0) and res2..res{1 + frozen_stages}; -1 freezes
            nothing. Frozen norms stay in eval mode.
        norm_eval: keep every BatchNorm in eval mode during training.
        with_cp: gradient checkpointing per block (same outputs and gradients).
        conv_cfg, norm_cfg, act_cfg: MMCV layer configs, e.g. ``norm_cfg=dict(type='SyncBN')``.
        init_cfg: MMEngine init config, e.g. ``dict(type='Pretrained', checkpoint=...,
            prefix='backbone.')``; Pretrained is read by the package's guarded reader and
            checked for fit like ``pretrained``.
        allow_partial: load the part of ``pretrained`` / ``init_cfg`` Pretrained that fits
            and log the rest, instead of refusing a checkpoint that does not fit exactly.

    Example:
        >>> import torch
        >>> net = SmallBigResNet(depth=23, base_channels=8, out_indices=(2, 3))
        >>> [f.shape for f in net(torch.randn(2, 3, 4, 32, 32))]
        [torch.Size([2, 128, 4, 2, 2]), torch.Size([2, 256, 4, 1, 1])]
    """

    def __init__(
        self,
        depth: int = 50,
        pretrained: Optional[str] = None,
        pretrained2d: bool = True,
        in_channels: int = 3,
        base_channels: int = 64,
        out_indices: OutIndices = 3,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = False,
        block_types: Sequence[StageSpec] = ('2d', 'smallbig', 'smallbig', 'smallbig'),
        extra_stages: Sequence[bool] = (False, False, False, False),
        big_views: Sequence[bool] = (True, True, True),
        big_kernels: Sequence[BigKernel] = DEFAULT_BIG_KERNELS,
        shared_big_weights: bool = True,
        drop_path_rate: float = 0.0,
        fast_path: bool = True,
        fused: Optional[bool] = None,
        conv_cfg: dict = dict(type='Conv3d'),
        norm_cfg: dict = dict(type='BN3d', requires_grad=True),
        act_cfg: dict = dict(type='ReLU', inplace=True),
        init_cfg: Optional[Union[dict, list]] = None,
        allow_partial: bool = False,
    ) -> None:
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= NUM_STAGES:
            raise ValueError(
                f'frozen_stages must be an int in -1..{NUM_STAGES} (-1: nothing, '
                f'0: the stem, k: the stem and the first k stages), '
                f'got {frozen_stages!r}'
            )
        if pretrained is not None and init_cfg is not None:
            raise ValueError('give either pretrained or init_cfg, not both')
        self.out_indices = _check_out_indices(out_indices)
        super().__init__(
            depth=depth,
            block_types=block_types,
            extra_stages=extra_stages,
            big_views=big_views,
            big_kernels=big_kernels,
            shared_big_weights=shared_big_weights,
            in_channels=in_channels,
            base_channels=base_channels,
            drop_path_rate=drop_path_rate,
            zero_init_residual=zero_init_residual,
            fast_path=fast_path,
            fused=fused,
            conv_layer=lambda *args, **kwargs: build_conv_layer(conv_cfg, *args, **kwargs),
            norm_layer=lambda channels: build_norm_layer(norm_cfg, channels)[1],
            act_layer=lambda: build_activation_layer(act_cfg),
        )
        self.init_cfg = copy.deepcopy(init_cfg)  # BaseModule state, set after the core
        self.return_tuple = not isinstance(out_indices, int)
        self.pretrained = pretrained
        self.pretrained2d = pretrained2d
        self.allow_partial = allow_partial
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.set_grad_checkpointing(with_cp)
        self._freeze_stages()

    def init_weights(self) -> None:
        """Inflates or loads ``pretrained``, or loads ``init_cfg`` Pretrained, after a fit check.

        Both go through the weights chain (:func:`smallbig_mm.weights.load_weights`: the
        guarded reader, the fit check, one log line): a file of another depth, width or
        block layout stops with one line naming it. A checkpoint's classifier is dropped
        and named (a backbone has none). ``allow_partial=True`` loads what fits.
        Other ``init_cfg`` types go to MMEngine; without any, the weights stay as the core
        initialised them (Kaiming convs, zero big views).
        """
        pretrained = _pretrained_init(self.init_cfg)
        if self.pretrained is None and pretrained is None:
            super().init_weights()
            return
        from ..weights import load_weights

        policy = 'partial' if self.allow_partial else 'exact'
        logger = MMLogger.get_current_instance()
        if pretrained is not None:
            load_weights(
                self,
                pretrained['checkpoint'],
                policy=policy,
                prefix=pretrained.get('prefix'),
                logger=logger,
            )
            self.is_init = True
        else:
            load_weights(
                self, self.pretrained, policy=policy, inflate_2d=self.pretrained2d, logger=logger
            )

    def _freeze_stages(self) -> None:
        frozen = [self.conv1, self.bn1] if self.frozen_stages >= 0 else []
        frozen += self.stages[: max(self.frozen_stages, 0)]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'SmallBigResNet':
        """Sets train mode, keeping frozen stages (and all norms if norm_eval) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, BatchNormBase):
                    module.eval()
        return self

    def forward(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, ...]]:
        """Maps clips (N, C, T, H, W) to the map of ``out_indices`` (an int) or a tuple of maps.

        Stage ``i`` (0 = res2) gives
        (N, 4 * base_channels * 2**i, T, H / 2**(i + 2), W / 2**(i + 2)).
        """
        outs = self.forward_stages(x, self.out_indices)
        return tuple(outs) if self.return_tuple else outs[0]


SmallBigResNetBackbone = SmallBigResNet
"""The class's first name, kept for code that imports it."""
