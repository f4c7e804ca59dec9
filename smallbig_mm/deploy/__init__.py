"""Deployment: clip classifiers exported to ONNX, and a ``torch.export`` recipe.

Needs torch and, for ONNX, ``onnx``, ``onnxruntime`` and ``onnxscript`` (torch's ONNX
exporter uses it): ``pip install smallbig-mm[deploy]``. MMEngine/MMAction2 are imported
only to build a model from a config; a timm model name needs ``timm`` instead.

- :mod:`.clip_models`: a model from a config or a timm name, as clips -> class scores.
- :mod:`.onnx_export`: :func:`export_onnx` (dynamic batch and frames),
  :func:`onnx_max_rel_diff` (onnxruntime against PyTorch), :func:`non_standard_ops`.
- :mod:`.torch_export`: :func:`export_program`, ``torch.export`` with dynamic N and T.

Example::

    import timm, smallbig_mm
    from smallbig_mm.deploy import export_onnx
    model = timm.create_model('smallbig_resnet50', num_classes=400).eval()
    export_onnx(model, 'smallbig_r50.onnx', frames=8, size=224)
"""

from .clip_models import ClipModel, ExportError, build_clip_model
from .onnx_export import export_onnx, non_standard_ops, onnx_max_rel_diff
from .torch_export import export_program

__all__ = [
    'ClipModel',
    'ExportError',
    'build_clip_model',
    'export_onnx',
    'export_program',
    'non_standard_ops',
    'onnx_max_rel_diff',
]
