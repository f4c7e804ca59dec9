"""Parameter and MAC counts (the documented home of :mod:`smallbig_mm.models.complexity`).

The counting lives with the network, so that the layers below ``analysis`` (the hub
folders of ``weights``, which print GMACs in their model card) can use it.
"""

from ..models.complexity import count_macs, count_parameters

__all__ = ['count_macs', 'count_parameters']
