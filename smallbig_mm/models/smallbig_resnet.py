"""SmallBig-ResNet: the plain-PyTorch network shared by the MMAction2 and timm adapters.

Stem (1x7x7 conv, stride (1, 2, 2), then a (1, 3, 3) max pool), then res2..res5 as
``layer1..layer4`` with planes 64/128/256/512 times ``base_channels / 64``. There is no
temporal stride anywhere: T frames in, T frames out. By default res2 uses 2D blocks and
res3-res5 SmallBig blocks (the paper's network).
"""

import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union, cast

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..compat.torch import NormBase, is_fx_symbolic_tracing
from .bottleneck import Bottleneck, check_block_type
from .units import DEFAULT_BIG_KERNELS, ActLayer, BigKernel, ConvLayer, NormLayer, inplace_relu

ARCH_SETTINGS: Dict[int, Tuple[int, int, int, int]] = {
    23: (1, 2, 3, 1),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
}
"""Blocks per stage for each supported depth (23 is the paper's ablation backbone)."""

NUM_STAGES = 4
StageSpec = Union[str, Sequence[str]]
"""A stage's block type: one type for all its blocks, or one type per block."""


def check_clip(x: Tensor, in_channels: int) -> None:
    """Raises ValueError unless ``x`` is a clip batch of shape (N, in_channels, T, H, W)."""
    if not isinstance(x, Tensor):
        raise TypeError(f'expected a clip tensor of shape (N, C, T, H, W), got {type(x).__name__}')
    if x.ndim != 5 or x.shape[1] != in_channels:
        raise ValueError(
            f'expected a clip batch of shape (N, {in_channels}, T, H, W), got {tuple(x.shape)}; '
            'a single clip (C, T, H, W) needs x.unsqueeze(0), and frames-first data '
            '(N, T, C, H, W) needs x.transpose(1, 2)'
        )


def _per_stage(value: Sequence, name: str) -> list:
    if len(value) != NUM_STAGES:
        raise ValueError(f'{name} needs one entry per stage (res2..res5), got {value!r}')
    return list(value)


def _stage_block_types(spec: StageSpec, num_blocks: int, stage: int) -> List[str]:
    types = [spec] * num_blocks if isinstance(spec, str) else list(spec)
    if len(types) != num_blocks:
        raise ValueError(
            f'block_types[{stage}] lists {len(types)} block types, but stage '
            f'res{stage + 2} has {num_blocks} blocks'
        )
    return [check_block_type(t) for t in types]


class SmallBigResNet(nn.Module):
    """SmallBig-ResNet feature extractor (no classifier).

    Args:
        depth: 23, 50 or 101.
        block_types: per stage (res2..res5), ``'2d'``, ``'3d'`` or ``'smallbig'``, or a
            sequence with one type per block of that stage. The paper:
            ``('2d', 'smallbig', 'smallbig', 'smallbig')``; C2D: all ``'2d'``; the 3D
            (SlowOnly-like) baseline: ``('2d', '2d', '3d', '3d')``.
        extra_stages: per stage, whether its blocks start with the extra unit.
        big_views: which of (conv1, conv2, conv3) of a SmallBig block get a big view.
        big_kernels: pooling windows of those big views, ``(t, h, w)`` with odd sizes;
            ``t=None`` pools over all frames (the paper's conv3 window T x 3 x 3).
        shared_big_weights: big views reuse their small view's conv weights (the paper).
        in_channels: channels of the input clip.
        base_channels: width of the stem; stages use 1x, 2x, 4x, 8x of it as planes.
            64 is the paper; small values give tiny models for tests.
        drop_path_rate: stochastic depth, rising linearly over the blocks to this value.
        zero_init_residual: start every block's last BN at 0 (off in the paper).
        fast_path: inference with the BatchNorms folded into the convs
            (:mod:`.fastpath.inference`), training without pooled maps or pooling
            indices kept (:mod:`.fastpath.training`), separable pooling and
            matrix-product 1x1x1 convs on CPUs.
            False runs the units exactly as written (:meth:`Bottleneck.reference_unit`).
            Same outputs within rounding, same gradients; double backward
            (``create_graph=True``) needs False.
        fused: the first name of ``fast_path`` (deprecated: it also switches the
            training path, which fuses nothing).
        conv_layer, norm_layer, act_layer: layer factories (``nn.Conv3d``,
            ``nn.BatchNorm3d``, in-place ``nn.ReLU`` by default).

    Attributes:
        stage_channels: output channels of res2..res5.
        num_features: output channels of the last stage.

    Example:
        >>> net = SmallBigResNet(depth=23, base_channels=8)
        >>> net(torch.randn(2, 3, 8, 32, 32)).shape
        torch.Size([2, 256, 8, 1, 1])
    """

    def __init__(
        self,
        depth: int = 50,
        block_types: Sequence[StageSpec] = ('2d', 'smallbig', 'smallbig', 'smallbig'),
        extra_stages: Sequence[bool] = (False, False, False, False),
        big_views: Sequence[bool] = (True, True, True),
        big_kernels: Sequence[BigKernel] = DEFAULT_BIG_KERNELS,
        shared_big_weights: bool = True,
        in_channels: int = 3,
        base_channels: int = 64,
        drop_path_rate: float = 0.0,
        zero_init_residual: bool = False,
        fast_path: bool = True,
        fused: Optional[bool] = None,
        conv_layer: ConvLayer = nn.Conv3d,
        norm_layer: NormLayer = nn.BatchNorm3d,
        act_layer: ActLayer = inplace_relu,
    ) -> None:
        super().__init__()
        if fused is not None:
            warnings.warn(
                'SmallBigResNet(fused=...) is deprecated: use fast_path=...',
                DeprecationWarning,
                stacklevel=2,
            )
            fast_path = fused
        if depth not in ARCH_SETTINGS:
            raise ValueError(f'unknown depth {depth!r}: use one of {sorted(ARCH_SETTINGS)}')
        if not isinstance(base_channels, int) or base_channels < 4:
            raise ValueError(f'base_channels must be an int >= 4, got {base_channels!r}')
        stage_blocks = ARCH_SETTINGS[depth]
        block_types = _per_stage(block_types, 'block_types')
        extra_stages = _per_stage(extra_stages, 'extra_stages')
        self.depth = depth
        self.in_channels = in_channels
        self.zero_init_residual = zero_init_residual
        self.grad_checkpointing = False

        self.conv1 = conv_layer(
            in_channels,
            base_channels,
            kernel_size=(1, 7, 7),
            stride=(1, 2, 2),
            padding=(0, 3, 3),
            bias=False,
        )
        self.bn1 = norm_layer(base_channels)
        self.act = act_layer()
        self.maxpool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

        total_blocks = sum(stage_blocks)
        block_index = 0
        channels = base_channels
        self.stage_channels: List[int] = []
        for stage, num_blocks in enumerate(stage_blocks):
            types = _stage_block_types(block_types[stage], num_blocks, stage)
            planes = base_channels * 2**stage
            blocks = []
            for i, block_type in enumerate(types):
                drop = drop_path_rate * block_index / max(total_blocks - 1, 1)
                blocks.append(
                    Bottleneck(
                        channels,
                        planes,
                        stride=1 if stage == 0 or i > 0 else 2,
                        block_type=block_type,
                        big_views=big_views,
                        big_kernels=big_kernels,
                        shared_big_weights=shared_big_weights,
                        with_extra=bool(extra_stages[stage]),
                        drop_path=drop,
                        fused=fast_path,
                        conv_layer=conv_layer,
                        norm_layer=norm_layer,
                        act_layer=act_layer,
                    )
                )
                channels = planes * Bottleneck.expansion
                block_index += 1
            self.add_module(f'layer{stage + 1}', nn.Sequential(*blocks))
            self.stage_channels.append(channels)
        self.num_features = channels
        self.reset_parameters()

    @property
    def stages(self) -> List[nn.Sequential]:
        """``[layer1, layer2, layer3, layer4]`` (res2..res5)."""
        return [cast(nn.Sequential, getattr(self, f'layer{i}')) for i in range(1, 5)]

    def reset_parameters(self) -> None:
        """Kaiming-normal convs (fan_out, relu); norms 1/0; big-view and extra-unit norms 0/0.

        With the zero-initialised big views and extra units, a fresh network computes
        exactly the 2D ResNet (C2D) made of its other weights.
        """
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (NormBase, nn.GroupNorm, nn.LayerNorm)):
                if m.weight is not None:
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
        for block in self.modules():
            if not isinstance(block, Bottleneck):
                continue
            zero = [view.bn for view in (block.big1, block.big2, block.big3) if view is not None]
            if block.extra is not None:
                zero.append(block.extra.bn)
            if self.zero_init_residual:
                zero.append(block.bn3)
            for norm in zero:
                weight, bias = getattr(norm, 'weight', None), getattr(norm, 'bias', None)
                if isinstance(weight, Tensor) and isinstance(bias, Tensor):
                    nn.init.zeros_(weight)
                    nn.init.zeros_(bias)

    def set_fast_path(self, enable: bool = True) -> None:
        """Switches every block between the fast path and the reference units."""
        for stage in self.stages:
            for block in stage:
                cast(Bottleneck, block).fused = enable

    set_fused = set_fast_path  # the first name, kept for code that calls it

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block in the backward pass to save memory (same results)."""
        self.grad_checkpointing = enable

    def prepare_clip(self, x: Tensor) -> Tensor:
        """Checks the clip's shape (a hook for subclasses that adapt the input).

        Skipped while torch.fx traces (a Proxy has no shape to check).
        """
        if not is_fx_symbolic_tracing():
            check_clip(x, self.in_channels)
        return x

    def forward_stem(self, x: Tensor) -> Tensor:
        """Maps a clip (N, C, T, H, W) to (N, base_channels, T, H / 4, W / 4)."""
        return self.maxpool(self.act(self.bn1(self.conv1(self.prepare_clip(x)))))

    def forward_stage(self, stage: int, x: Tensor) -> Tensor:
        """Runs stage ``stage`` (0 = res2) on ``x``, checkpointing blocks if enabled."""
        for block in self.stages[stage]:
            if self.grad_checkpointing and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x

    def forward_stages(self, x: Tensor, indices: Optional[Sequence[int]] = None) -> List[Tensor]:
        """Returns the outputs of the stages in ``indices`` (0 = res2; default: all), in that order.

        Stops after the last requested stage.
        """
        indices = list(range(NUM_STAGES)) if indices is None else list(indices)
        x = self.forward_stem(x)
        outs = {}
        for stage in range(max(indices) + 1):
            x = self.forward_stage(stage, x)
            outs[stage] = x
        return [outs[i] for i in indices]

    def forward(self, x: Tensor) -> Tensor:
        """Maps a clip (N, C, T, H, W) to the res5 map (N, num_features, T, H / 32, W / 32)."""
        return self.forward_stages(x, [NUM_STAGES - 1])[0]
