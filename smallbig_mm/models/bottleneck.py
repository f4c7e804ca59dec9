"""The bottleneck block in its three variants: 2D (C2D), 3D (SlowOnly-like) and SmallBig.

| type     | conv1                 | conv2                | conv3                |
|----------|-----------------------|----------------------|----------------------|
| 2d       | 1x1x1                 | 1x3x3 (stride)       | 1x1x1                |
| 3d       | 3x1x1, temporal pad 1 | 1x3x3 (stride)       | 1x1x1                |
| smallbig | 1x1x1 + big view      | 1x3x3 + big view     | 1x1x1 + big view     |

Parameter names follow torchvision (``conv1``, ``bn1``, ..., ``downsample.0/1``); a
SmallBig block adds ``big1``/``big2``/``big3`` (see :class:`BigView`) and an optional
``extra`` unit applied to the block input before anything else.

The three activations are three modules, each called once per forward, so that a forward
or backward hook sees one call (Grad-CAM hooks one module): ``relu1`` after unit 1,
``relu2`` after unit 2 and ``relu`` after the residual sum, the block's output. The last
one is named as in MMAction2's ``Bottleneck3d`` (``mmaction/models/backbones/resnet3d.py``)
and torchvision's ``Bottleneck``, whose one ``relu`` module also ends the block, so that
MMAction2's Grad-CAM target ``backbone/layer4/<last>/relu`` means the same thing on both
networks. MMAction2 keeps the first two inside its ``ConvModule``s (``conv1.activate``),
which this flat torchvision layout has not; ``relu1``/``relu2`` follow the numbering of
``conv1``/``bn1`` (timm's ``act1``, ``act2``, ``act3`` would leave no ``relu``). The names
hold for any ``act_layer``, as MMAction2's ``relu`` does for any ``act_cfg``. Activations
have no parameters, so the state-dict keys are those of the earlier single ``act``.
"""

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from ..compat.torch import BatchNormBase
from .fastpath.frame_conv import conv_for_training
from .fastpath.inference import (
    can_fold,
    can_fuse,
    fused_conv_norm,
    fused_smallbig_unit,
    runs_as_written,
)
from .fastpath.training import big_view_lean
from .units import (
    DEFAULT_BIG_KERNELS,
    ActLayer,
    BigKernel,
    BigView,
    ConvLayer,
    DropPath,
    ExtraUnit,
    NormLayer,
    check_big_kernel,
    inplace_relu,
)

BLOCK_TYPES = ('2d', '3d', 'smallbig')
"""The block types a stage may use."""


def check_block_type(block_type: str) -> str:
    """Raises ValueError naming the accepted types when ``block_type`` is unknown."""
    if block_type not in BLOCK_TYPES:
        raise ValueError(f'unknown block type {block_type!r}: use one of {BLOCK_TYPES}')
    return block_type


def add_into_norm_output(out: Tensor, other: Tensor, norm: nn.Module) -> Tensor:
    """``out + other``, written into ``out`` where that is safe under autograd.

    ``out`` is ``norm``'s fresh output. A BatchNorm's backward needs its input and
    statistics, never its output, so adding into it changes no gradient and saves a
    tensor the size of the unit's output. Out of place for any other norm, or where the
    sum would need another dtype or shape than ``out``'s (autocast, broadcasting).
    """
    if (
        isinstance(norm, BatchNormBase)
        and torch.result_type(out, other) == out.dtype
        and torch.broadcast_shapes(out.shape, other.shape) == out.shape
    ):
        return out.add_(other)
    return out + other


class Bottleneck(nn.Module):
    """A ResNet bottleneck (expansion 4) on clips, with an optional big view per conv.

    Args:
        in_channels: channels of the block input.
        planes: channels inside the block; the output has ``4 * planes``.
        stride: spatial stride, carried by conv2 (torchvision style). Never temporal.
        block_type: ``'2d'``, ``'3d'`` or ``'smallbig'``.
        big_views: for a SmallBig block, which of (conv1, conv2, conv3) get a big view.
        big_kernels: pooling windows of the three big views; ``t=None`` = all frames.
        shared_big_weights: the big view reuses the small view's conv (the paper) or
            has its own (the unshared ablation).
        with_extra: apply the extra unit to the block input first.
        drop_path: stochastic depth probability of the residual branch.
        fused: compute units by the fast path: :mod:`.fastpath.inference` for inference,
            :mod:`.fastpath.training` for training (same numbers); False always runs
            :meth:`reference_unit`.
        conv_layer, norm_layer, act_layer: layer factories; ``act_layer`` is called
            three times (``relu1``, ``relu2``, ``relu``).

    Example:
        >>> import torch
        >>> block = Bottleneck(64, 16, stride=2, block_type='smallbig')
        >>> block(torch.randn(2, 64, 8, 14, 14)).shape
        torch.Size([2, 64, 8, 7, 7])
    """

    expansion = 4
    big1: Optional[BigView]  # set in __init__ by setattr (one per conv)
    big2: Optional[BigView]
    big3: Optional[BigView]

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        block_type: str = 'smallbig',
        big_views: Sequence[bool] = (True, True, True),
        big_kernels: Sequence[BigKernel] = DEFAULT_BIG_KERNELS,
        shared_big_weights: bool = True,
        with_extra: bool = False,
        drop_path: float = 0.0,
        fused: bool = True,
        conv_layer: ConvLayer = nn.Conv3d,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = inplace_relu,
    ) -> None:
        super().__init__()
        check_block_type(block_type)
        out_channels = planes * self.expansion
        self.block_type = block_type
        self.fused = fused
        self.extra = ExtraUnit(in_channels, conv_layer, norm_layer) if with_extra else None

        conv1_t = 3 if block_type == '3d' else 1
        self.conv1 = conv_layer(
            in_channels,
            planes,
            kernel_size=(conv1_t, 1, 1),
            stride=1,
            padding=(conv1_t // 2, 0, 0),
            bias=False,
        )
        self.bn1 = norm_layer(planes)
        self.conv2 = conv_layer(
            planes,
            planes,
            kernel_size=(1, 3, 3),
            stride=(1, stride, stride),
            padding=(0, 1, 1),
            bias=False,
        )
        self.bn2 = norm_layer(planes)
        self.conv3 = conv_layer(
            planes, out_channels, kernel_size=1, stride=1, padding=0, bias=False
        )
        self.bn3 = norm_layer(out_channels)
        self.relu1 = act_layer()
        self.relu2 = act_layer()
        self.relu = act_layer()

        big = [False] * 3 if block_type != 'smallbig' else list(big_views)
        if len(big) != 3 or len(big_kernels) != 3:
            raise ValueError(
                'big_views and big_kernels need one entry per conv '
                f'(conv1, conv2, conv3); got {big_views!r} and {big_kernels!r}'
            )
        convs = (self.conv1, self.conv2, self.conv3)
        norms_channels = (planes, planes, out_channels)
        for i, (on, kernel, conv, channels) in enumerate(
            zip(big, big_kernels, convs, norms_channels), start=1
        ):
            view = None
            if on:
                own_conv = None
                if not shared_big_weights:
                    own_conv = conv_layer(
                        conv.in_channels,
                        conv.out_channels,
                        kernel_size=conv.kernel_size,
                        stride=conv.stride,
                        padding=conv.padding,
                        bias=False,
                    )
                view = BigView(check_big_kernel(kernel), norm_layer(channels), own_conv)
            setattr(self, f'big{i}', view)

        self.downsample: Optional[nn.Sequential] = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                conv_layer(
                    in_channels,
                    out_channels,
                    kernel_size=1,
                    stride=(1, stride, stride),
                    padding=0,
                    bias=False,
                ),
                norm_layer(out_channels),
            )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    @staticmethod
    def reference_unit(
        x: Tensor, conv: nn.Module, norm: nn.Module, big: Optional[BigView]
    ) -> Tensor:
        """Small view ``norm(conv(x))`` plus the big view, broadcast over time, as written."""
        out = norm(conv(x))
        if big is not None:
            out = out + big(x, conv)
        return out

    def _unit(self, index: int, x: Tensor) -> Tensor:
        """Unit ``index`` (1..3): conv, norm and big view, by the fast path where it applies."""
        conv, norm = getattr(self, f'conv{index}'), getattr(self, f'bn{index}')
        big = getattr(self, f'big{index}')
        if not (self.fused and can_fuse(conv)):
            return self.reference_unit(x, conv, norm, big)
        if can_fold(norm) and big is None:
            return fused_conv_norm(x, conv, norm)
        if (
            can_fold(norm)
            and big is not None
            and big.conv is None
            and can_fold(big.bn)
            and not torch.is_grad_enabled()
        ):
            return fused_smallbig_unit(x, conv, norm, big)
        out = norm(conv_for_training(x, conv))
        if big is not None:
            out = add_into_norm_output(out, big_view_lean(x, conv, big), norm)
        return out

    def _shortcut(self, x: Tensor) -> Tensor:
        if self.downsample is None:
            return x
        conv, norm = self.downsample
        if not (self.fused and isinstance(conv, nn.Conv3d) and can_fuse(conv)):
            return self.downsample(x)
        if can_fold(norm):
            return fused_conv_norm(x, conv, norm)
        return norm(conv_for_training(x, conv))

    def forward(self, x: Tensor) -> Tensor:
        """Maps (N, C_in, T, H, W) to (N, 4 * planes, T, H / stride, W / stride)."""
        if self.extra is not None:
            x = self.extra(x)
        identity = self._shortcut(x)
        out = self.relu1(self._unit(1, x))
        out = self.relu2(self._unit(2, out))
        out = self.drop_path(self._unit(3, out))
        if (
            self.fused
            and not runs_as_written()
            and out.dtype == identity.dtype
            and (
                not torch.is_grad_enabled()
                or (isinstance(self.drop_path, nn.Identity) and isinstance(self.bn3, BatchNormBase))
            )
        ):
            # no new tensor: in inference, and in training, where the last unit's output
            # (a BatchNorm's output or a sum) is kept by no backward function
            return self.relu(out.add_(identity))
        return self.relu(out + identity)
