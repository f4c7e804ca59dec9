"""Weights: safe checkpoint reading, layout conversion, 2D ImageNet inflation, loading.

One module serves the MMAction2 backbone, the timm factories and the command-line tools.

- :mod:`.io`: ``read_checkpoint`` (always ``weights_only=True``, or safetensors).
- :mod:`.layouts`: ``detect_layout``, ``to_timm_state_dict``, ``from_timm_state_dict``.
- :mod:`.inflate`: ``inflate_2d_state_dict``, ``load_pretrained_2d``.
- :mod:`.loading`: the one fit check (``fit_state_dict``) behind ``load_weights`` /
  ``load_checkpoint`` and every other route that loads weights into a model.
- :mod:`.convert`: ``convert_checkpoint`` (behind ``tools/convert_checkpoint.py``).

Example:
    >>> from smallbig_mm.models import SmallBigResNet
    >>> from smallbig_mm.weights import from_timm_state_dict, load_weights
    >>> model = SmallBigResNet(depth=23, base_channels=8)
    >>> reference = from_timm_state_dict(model.state_dict(), 'reference')
    >>> load_weights(SmallBigResNet(depth=23, base_channels=8), reference)
"""
from .convert import ConversionSummary, convert_checkpoint, parameter_count
from .errors import CheckpointError
from .inflate import (InflationReport, inflate_2d_state_dict, load_pretrained_2d,
                      resolve_pretrained_2d)
from .io import (Checkpoint, load_checkpoint_file, read_checkpoint, read_raw_checkpoint,
                 save_checkpoint_file)
from .layouts import (LAYOUTS, LAYOUTS_2D, convert_state_dict, detect_layout,
                      from_timm_state_dict, to_timm_state_dict)
from .loading import load_checkpoint, load_weights

__all__ = [
    'LAYOUTS', 'LAYOUTS_2D', 'Checkpoint', 'CheckpointError', 'ConversionSummary',
    'InflationReport', 'convert_checkpoint', 'convert_state_dict', 'detect_layout',
    'from_timm_state_dict', 'inflate_2d_state_dict', 'load_checkpoint',
    'load_checkpoint_file', 'load_pretrained_2d', 'load_weights', 'parameter_count',
    'read_checkpoint', 'read_raw_checkpoint', 'resolve_pretrained_2d', 'save_checkpoint_file',
    'to_timm_state_dict',
]
