"""Writing a checkpoint as a Hugging Face Hub style folder that timm loads.

``tools/convert_checkpoint.py SRC OUT_DIR --to hf`` writes:

- ``config.json``: timm's layout (``architecture``, ``num_classes``, ``num_features``,
  ``model_args``, ``pretrained_cfg``, ``label_names``) and the weights record
  (``weights_meta``, :mod:`smallbig_mm.weights.meta`), so that ``timm.create_model('local-dir:OUT_DIR',
  pretrained=True)`` (or ``hf-hub:ORG/NAME`` once uploaded) rebuilds exactly the network.
  ``model_args`` come from the checkpoint's MMEngine config (``meta['cfg']``) where it
  has one, else from the state dict's shapes; flags override both.
- ``model.safetensors``: the weights in the timm layout.
- ``README.md``: a model card (``huggingface_hub.ModelCardData`` front matter), the
  input, how the weights were trained (as far as the record says) and the parameter and
  MAC counts. No file holds a local path.

The folder is written beside ``OUT_DIR`` under a temporary name and renamed when
complete; an existing non-empty ``OUT_DIR`` is refused unless ``force``.

Modules, one job each:

- :mod:`.config_text`: the config text of ``meta['cfg']`` read with :mod:`ast`
  (``parse_config_text``, ``args_from_config``, ``metric_types``);
- :mod:`.model_args`: the architecture arguments of the weights (``infer_model_args``,
  ``architecture_name``, ``check_rebuilds``, ``count_gmacs``);
- :mod:`.card`: the model card (``model_card``, ``CITATION``);
- :mod:`.folder`: the writer (``write_hub_folder``, ``check_replaceable``).
"""

from .card import CITATION, model_card
from .config_text import args_from_config, metric_types, parse_config_text
from .folder import HUB_FILES, HubFolderSummary, check_replaceable, write_hub_folder
from .model_args import ARCH_ARGS, architecture_name, check_rebuilds, count_gmacs, infer_model_args

__all__ = [
    'ARCH_ARGS',
    'CITATION',
    'HUB_FILES',
    'HubFolderSummary',
    'architecture_name',
    'check_rebuilds',
    'check_replaceable',
    'count_gmacs',
    'infer_model_args',
    'model_card',
    'parse_config_text',
    'args_from_config',
    'metric_types',
    'write_hub_folder',
]
