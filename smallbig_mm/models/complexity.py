"""Parameter and MAC counts, computed on the meta device (no memory, no compute).

MACs are the multiply-accumulates of convolutions and linear layers, the figure
MMAction2's model zoo and fvcore call "FLOPs"; ``torch.utils.flop_counter`` reports
twice this number.
"""

from typing import Callable, Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    """Number of parameter elements of ``model``."""
    return sum(p.numel() for p in model.parameters())


def count_macs(build: Callable[[], nn.Module], input_shape: Sequence[int]) -> int:
    """Counts the conv + linear MACs of one forward pass, on the meta device.

    Args:
        build: a function that builds the model (called inside a meta-device context).
        input_shape: e.g. ``(1, 3, 8, 224, 224)``.

    Returns:
        The number of multiply-accumulates.

    Example:
        >>> from smallbig_mm.models import SmallBigResNet
        >>> count_macs(lambda: SmallBigResNet(depth=23), (1, 3, 8, 224, 224)) > 0
        True
    """
    with torch.device('meta'):
        model = build()
        model.eval()  # not chained: some train() overrides (MMAction2's ResNet3d) return None
        x = torch.empty(*input_shape)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2
