"""Weights: one chain from a source to a loaded model, and the converter.

The chain (docs/weights.md draws it): find the source, read it through the guarded
reader, convert its layout or inflate 2D weights, fit it under a policy, load it, log one
line. Its verbs:

- find + read: :func:`fetch_checkpoint` (:mod:`.sources`: files, hub folders,
  ``torchvision://``, URLs, ``hf-hub:``, timm names), :func:`read_checkpoint` /
  :func:`read_raw_checkpoint` (:mod:`.io`: always ``weights_only=True``, or safetensors);
- convert: :func:`detect_layout`, :func:`convert_state_dict` (:mod:`.layouts`),
  :func:`inflate_2d_state_dict` (:mod:`.inflate`);
- fit: :func:`fit_weights` (:mod:`.pipeline` over :mod:`.loading`: exact, fine-tune or
  partial; NaN/Inf and tensors of another kind refused);
- load: :func:`load_weights`, all of the above, then ``load_state_dict`` and one log line
  (:class:`LoadReport`);
- write: :func:`write_checkpoint` (atomic), :func:`convert_checkpoint` (behind
  ``smallbig-convert``), :func:`write_hub_folder` (``--to hf``).

Example:
    >>> from smallbig_mm.models import SmallBigResNet
    >>> from smallbig_mm.weights import convert_state_dict, load_weights
    >>> model = SmallBigResNet(depth=23, base_channels=8)
    >>> reference = convert_state_dict(model.state_dict(), 'reference')
    >>> load_weights(SmallBigResNet(depth=23, base_channels=8), reference).loaded
    246
"""

from .convert import ConversionSummary, convert_checkpoint
from .errors import CheckpointError
from .hub import write_hub_folder
from .inflate import InflationReport, inflate_2d_state_dict
from .io import Checkpoint, read_checkpoint, read_raw_checkpoint, write_checkpoint
from .layouts import LAYOUTS, LAYOUTS_2D, convert_state_dict, detect_layout
from .pipeline import LoadReport, fit_weights, load_weights
from .sources import fetch_checkpoint

__all__ = [
    'LAYOUTS',
    'LAYOUTS_2D',
    'Checkpoint',
    'CheckpointError',
    'ConversionSummary',
    'InflationReport',
    'LoadReport',
    'convert_checkpoint',
    'convert_state_dict',
    'detect_layout',
    'fetch_checkpoint',
    'fit_weights',
    'inflate_2d_state_dict',
    'load_weights',
    'read_checkpoint',
    'read_raw_checkpoint',
    'write_checkpoint',
    'write_hub_folder',
]
