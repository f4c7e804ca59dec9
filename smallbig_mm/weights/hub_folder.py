"""The hub-folder writer's former module, kept for code that imports it: see :mod:`.hub`."""
from .hub import (HubFolderSummary, check_replaceable, infer_model_args, parse_config_text,
                  spec_from_config, write_hub_folder)

__all__ = ['HubFolderSummary', 'check_replaceable', 'infer_model_args', 'parse_config_text',
           'spec_from_config', 'write_hub_folder']
