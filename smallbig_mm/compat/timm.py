"""The private names of timm that the package uses.

Tested with timm 1.0.31 (the stack of ``tools/setup_env.sh``; setup.py allows 1.0.20-1.0.x).
"""

from timm.models._features import feature_take_indices

TESTED_WITH = 'timm 1.0.31'
PRIVATE_NAMES = (
    'timm.models._features.feature_take_indices',  # forward_intermediates' index rules
)

__all__ = ['feature_take_indices']
