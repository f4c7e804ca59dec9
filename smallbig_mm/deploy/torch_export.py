"""``torch.export`` of a clip classifier with dynamic batch and frames.

The recipe (what :func:`export_program` does)::

    import torch
    from torch.export import Dim, export
    model = timm.create_model('smallbig_resnet50', num_classes=400).eval()
    clips = torch.randn(2, 3, 8, 224, 224)
    dims = {0: Dim('batch', min=1, max=65536), 2: Dim('frames', min=1, max=4096)}
    with torch.no_grad():
        program = export(model, (clips,), dynamic_shapes=(dims,))
    torch.export.save(program, 'smallbig.pt2')        # torch.export.load(...).module()

While torch.export traces, the SmallBig units run as written (max_pool3d, conv3d,
batch_norm), so the program holds for any clip length and batch.
"""

import torch
from torch import nn

from .onnx_export import dynamic_clip_shapes


def export_program(
    model: nn.Module, frames: int = 8, size: int = 224, batch: int = 2
) -> 'torch.export.ExportedProgram':
    """Exports ``model`` (clips (N, 3, T, H, W) -> scores) with symbolic N and T.

    Args:
        model: an eval-mode clip classifier.
        frames, size, batch: the example clip traced; H and W stay fixed at ``size``.

    Returns:
        The ``ExportedProgram``; ``program.module()`` runs it for any N >= 1 and T >= 1.

    Example:
        >>> import timm, smallbig_mm
        >>> model = timm.create_model('smallbig_resnet23', base_channels=8).eval()
        >>> program = export_program(model, frames=4, size=32)
        >>> program.module()(torch.randn(1, 3, 6, 32, 32)).shape
        torch.Size([1, 400])
    """
    clips = torch.randn(batch, 3, frames, size, size)
    with torch.no_grad():
        return torch.export.export(model, (clips,), dynamic_shapes=(dynamic_clip_shapes(frames),))
