"""The SmallBig unit's big view and the extra unit.

SmallBigNet: Integrating Core and Contextual Views for Video Classification
(Li, Wang, Zhou, Qiao; CVPR 2020, arXiv 2006.14582). A frame-wise convolution ``W``
of a bottleneck sees one time step at one place (the *small view*). The *big view*
max-pools a neighbourhood in space and time and applies a convolution to it (by default
the very same ``W``), followed by its own BatchNorm. Both views are summed::

    out = BN_small(W(x)) + BN_big(W(MaxPool3d(x)))

Plain PyTorch: no registry, no weight I/O.
"""

from typing import Callable, Optional, Sequence, Tuple, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ConvLayer = Callable[..., nn.Module]
"""Builds a 3D conv: ``conv_layer(in_ch, out_ch, kernel_size=, stride=, padding=, bias=)``."""
NormLayer = Callable[[int], nn.Module]
"""Builds a normalisation layer for a number of channels: ``norm_layer(channels)``."""
ActLayer = Callable[[], nn.Module]
"""Builds an activation: ``act_layer()``."""


def inplace_relu() -> nn.Module:
    """The default activation: ReLU writing into its input (no extra activation memory)."""
    return nn.ReLU(inplace=True)


BigKernel = Tuple[Optional[int], int, int]
"""A big-view pooling window ``(t, h, w)``; ``t=None`` pools over all frames of the input."""

DEFAULT_BIG_KERNELS: Tuple[BigKernel, BigKernel, BigKernel] = ((3, 3, 3), (3, 3, 3), (None, 3, 3))
"""The paper's windows for conv1, conv2 and conv3 of a bottleneck."""


def check_big_kernel(kernel: Sequence[Optional[int]], name: str = 'big_kernels') -> BigKernel:
    """Validates one pooling window: three odd positive sizes (temporal may be ``None``).

    Args:
        kernel: ``(t, h, w)``; ``t=None`` means all frames.
        name: the argument name used in error messages.

    Returns:
        The window as a tuple.

    Raises:
        ValueError: if the window is not three odd positive sizes.
    """
    if not isinstance(kernel, (tuple, list)) or len(kernel) != 3:
        raise ValueError(f'{name}: each window must be (t, h, w), got {kernel!r}')
    t, h, w = kernel
    for size in (h, w) if t is None else (t, h, w):
        if not isinstance(size, int) or size < 1 or size % 2 == 0:
            raise ValueError(
                f'{name}: window sizes must be odd positive ints (so the pooled view keeps the '
                f'input shape), and t may be None for all frames; got {tuple(kernel)!r}'
            )
    return cast(BigKernel, (t, h, w))


def big_view_pool(x: Tensor, kernel_size: BigKernel) -> Tensor:
    """The big view's max pooling (stride 1, -inf borders) of ``x`` (N, C, T, H, W).

    ``kernel_size`` is ``(t, h, w)`` with odd sizes; ``t=None`` first takes the maximum
    over all frames, so the output has one frame. See :class:`BigViewPool`.
    """
    t, h, w = kernel_size
    if t is None:
        x = x.amax(dim=2, keepdim=True)
        t = 1
    if (t, h, w) == (1, 1, 1):
        return x
    return F.max_pool3d(x, (t, h, w), stride=1, padding=(t // 2, h // 2, w // 2))


class BigViewPool(nn.Module):
    """Max pooling of the big view: stride 1, borders padded with -inf.

    Odd windows keep the input shape; a window with ``t=None`` takes the maximum over
    all frames of the input (whatever their number), so its output has one frame.

    Args:
        kernel_size: ``(t, h, w)``, odd sizes; ``t=None`` for a global temporal max.

    Example:
        >>> pool = BigViewPool((None, 3, 3))
        >>> pool(torch.randn(2, 4, 8, 7, 7)).shape
        torch.Size([2, 4, 1, 7, 7])
    """

    def __init__(self, kernel_size: BigKernel = (3, 3, 3)) -> None:
        super().__init__()
        self.kernel_size = check_big_kernel(kernel_size, 'kernel_size')

    def forward(self, x: Tensor) -> Tensor:
        """Pools ``x`` of shape (N, C, T, H, W) to (N, C, T, H, W) or (N, C, 1, H, W)."""
        return big_view_pool(x, self.kernel_size)

    def extra_repr(self) -> str:
        return f'kernel_size={self.kernel_size}'


class BigView(nn.Module):
    """The big view of one SmallBig unit: ``norm(conv(pool(x)))``.

    By default the convolution is the small view's own (shared weights), passed in at
    call time; with ``conv`` given, the big view has weights of its own (the paper's
    unshared ablation). ``norm`` starts at weight 0 and bias 0, so a fresh big view adds
    exactly zero and the network computes the 2D ResNet it was built from.

    Args:
        kernel_size: pooling window ``(t, h, w)``; ``t=None`` for all frames.
        norm: the big view's normalisation layer (never shared with the small view).
        conv: an unshared convolution, or None to share the small view's.

    Example:
        >>> conv = nn.Conv3d(4, 8, (1, 3, 3), padding=(0, 1, 1), bias=False)
        >>> big = BigView((3, 3, 3), nn.BatchNorm3d(8))
        >>> big(torch.randn(2, 4, 8, 7, 7), conv).shape
        torch.Size([2, 8, 8, 7, 7])
    """

    def __init__(
        self, kernel_size: BigKernel, norm: nn.Module, conv: Optional[nn.Module] = None
    ) -> None:
        super().__init__()
        self.pool = BigViewPool(kernel_size)
        self.conv = conv
        self.bn = norm

    def view_conv(self, shared_conv: nn.Module) -> nn.Module:
        """The conv this view applies: ``shared_conv``, or the view's own if it has one."""
        return shared_conv if self.conv is None else self.conv

    def forward(self, x: Tensor, shared_conv: nn.Module) -> Tensor:
        """Returns the big view of ``x`` (N, C, T, H, W) through ``shared_conv`` or its own conv."""
        return self.bn(self.view_conv(shared_conv)(self.pool(x)))


class ExtraUnit(nn.Module):
    """The paper's extra ("attention") unit, applied to a block's input.

    ``r = A(x)``, ``g = sigmoid(A(max_THW(x)))`` with the same ``A`` (1x1x1, C -> C/4), then
    ``x + BN(B(r * g))`` with ``B`` 1x1x1 (C/4 -> C). The BN starts at 0/0, so a fresh unit
    is the identity. No activation inside.

    Args:
        channels: C, the channels of the block input.
        conv_layer: builds the 1x1x1 convs.
        norm_layer: builds the final normalisation layer.

    Example:
        >>> unit = ExtraUnit(16)
        >>> unit(torch.randn(2, 16, 4, 7, 7)).shape
        torch.Size([2, 16, 4, 7, 7])
    """

    def __init__(
        self,
        channels: int,
        conv_layer: ConvLayer = nn.Conv3d,
        norm_layer: NormLayer = nn.BatchNorm3d,
    ) -> None:
        super().__init__()
        hidden = channels // 4
        self.reduce = conv_layer(channels, hidden, kernel_size=1, stride=1, padding=0, bias=False)
        self.expand = conv_layer(hidden, channels, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn = norm_layer(channels)

    def forward(self, x: Tensor) -> Tensor:
        """Maps (N, C, T, H, W) to the same shape."""
        gate = torch.sigmoid(self.reduce(x.amax(dim=(2, 3, 4), keepdim=True)))
        return x + self.bn(self.expand(self.reduce(x) * gate))


class DropPath(nn.Module):
    """Stochastic depth: drops a whole residual branch per sample while training.

    Args:
        drop_prob: probability of dropping the branch.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f'drop_path_rate must be in [0, 1), got {drop_prob}')
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'
