"""Weights: safe checkpoint reading, layout conversion, 2D ImageNet inflation, loading.

One module serves the MMAction2 backbone, the timm factories and the command-line tools.

Verbs: ``read_*`` takes a file into memory, ``write_*`` memory into a file,
``load_*_into`` puts weights into a model.

- :mod:`.io`: ``read_checkpoint`` / ``read_state_dict`` / ``read_raw_checkpoint`` (always
  ``weights_only=True``, or safetensors), ``write_checkpoint`` (atomic).
- :mod:`.layouts`: ``detect_layout``, ``to_timm_state_dict``, ``from_timm_state_dict``.
- :mod:`.inflate`: ``inflate_2d_state_dict``, ``load_pretrained_2d``.
- :mod:`.loading`: the one fit check (``fit_state_dict``) behind ``load_state_dict_into``
  / ``load_checkpoint_into`` and every other route that loads weights into a model.
- :mod:`.convert`: ``convert_checkpoint`` (behind ``tools/convert_checkpoint.py``).
- :mod:`.sources`: ``resolve_pretrained`` / ``fetch_checkpoint`` (torchvision://, URLs,
  hf-hub:, timm names, hub folders; torch hub and Hugging Face caches).
- :mod:`.pretrained`: ``load_pretrained`` (any source into a model: inflate or load).
- :mod:`.hub`: ``write_hub_folder`` (``--to hf``: config.json, safetensors, model card).

Example:
    >>> from smallbig_mm.models import SmallBigResNet
    >>> from smallbig_mm.weights import from_timm_state_dict, load_state_dict_into
    >>> model = SmallBigResNet(depth=23, base_channels=8)
    >>> reference = from_timm_state_dict(model.state_dict(), 'reference')
    >>> load_state_dict_into(SmallBigResNet(depth=23, base_channels=8), reference)
"""
from .convert import ConversionSummary, convert_checkpoint, parameter_count
from .errors import CheckpointError
from .inflate import (InflationReport, inflate_2d_state_dict, load_pretrained_2d,
                      resolve_pretrained_2d)
from .io import (Checkpoint, load_checkpoint_file, read_checkpoint, read_raw_checkpoint,
                 read_state_dict, save_checkpoint_file, write_checkpoint)
from .layouts import (LAYOUTS, LAYOUTS_2D, convert_state_dict, detect_layout,
                      from_timm_state_dict, to_timm_state_dict)
from .loading import (load_checkpoint, load_checkpoint_into, load_state_dict_into,
                      load_weights)
from .hub import write_hub_folder
from .pretrained import load_pretrained
from .sources import fetch_checkpoint, resolve_pretrained

__all__ = [
    'LAYOUTS', 'LAYOUTS_2D', 'Checkpoint', 'CheckpointError', 'ConversionSummary',
    'InflationReport', 'convert_checkpoint', 'convert_state_dict', 'detect_layout',
    'fetch_checkpoint', 'load_pretrained', 'resolve_pretrained', 'write_hub_folder',
    'from_timm_state_dict', 'inflate_2d_state_dict', 'load_checkpoint_into',
    'load_pretrained_2d', 'load_state_dict_into', 'parameter_count', 'read_checkpoint',
    'read_raw_checkpoint',
    'read_state_dict', 'resolve_pretrained_2d', 'to_timm_state_dict', 'write_checkpoint',
    # first names of the four above, kept for code that calls them
    'load_checkpoint', 'load_checkpoint_file', 'load_weights', 'save_checkpoint_file',
]
