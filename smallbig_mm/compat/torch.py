"""The private names of PyTorch that the package uses.

Tested with torch 2.14.1 (the stack of ``tools/setup_env.sh``).

Example:
    >>> from smallbig_mm.compat.torch import BatchNormBase
    >>> import torch
    >>> isinstance(torch.nn.BatchNorm3d(4), BatchNormBase)
    True
"""

from typing import Any, List

from torch._C import _len_torch_dispatch_stack as dispatch_stack_depth
from torch.fx._symbolic_trace import is_fx_symbolic_tracing
from torch.nn.modules.batchnorm import _BatchNorm as BatchNormBase
from torch.nn.modules.batchnorm import _NormBase as NormBase
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack as dispatch_modes
from torch.utils.data.dataloader import _SingleProcessDataLoaderIter as SingleProcessDataLoaderIter

TESTED_WITH = 'torch 2.14.1'
PRIVATE_NAMES = (
    'torch._C._len_torch_dispatch_stack',  # how many dispatch modes are active (cheap)
    'torch.fx._symbolic_trace.is_fx_symbolic_tracing',  # fx tracing takes the reference path
    'torch.nn.modules.batchnorm._BatchNorm',  # BatchNorm1d/2d/3d and SyncBatchNorm
    'torch.nn.modules.batchnorm._NormBase',  # BatchNorms and InstanceNorms
    'torch.utils._python_dispatch._get_current_dispatch_mode_stack',  # the active modes
    'torch.utils.data.dataloader._BaseDataLoaderIter._next_index',  # a batch's indices
    'torch.utils.data.dataloader._SingleProcessDataLoaderIter',  # iterator without workers
)

__all__ = [
    'BatchNormBase',
    'NormBase',
    'SingleProcessDataLoaderIter',
    'dispatch_modes',
    'dispatch_stack_depth',
    'is_fx_symbolic_tracing',
    'next_batch_indices',
]


def next_batch_indices(batches: Any) -> List[int]:
    """The indices of the next batch of a DataLoader iterator, without loading the batch.

    Args:
        batches: ``iter(DataLoader(...))``.

    Returns:
        The sampler's indices of the batch the iterator would load next (consumed).
    """
    return batches._next_index()
