"""Reading and writing checkpoint files safely.

Every ``.pth`` file is read with ``torch.load(weights_only=True)``, passed explicitly:
tensors, containers, numbers and strings only, plus the exact types of
:func:`~.allowlist.checkpoint_globals` (training checkpoints pickle a ``HistoryBuffer`` and
numpy arrays), allowed only during the read (``torch.serialization.safe_globals``).
A pickle that would import anything else is refused before it can run.

``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` does not change this: torch (>= 2.6, where the
variable exists) applies it only to calls that leave ``weights_only`` unset, and this
reader always sets it. ``.safetensors`` files are read with the ``safetensors`` package,
which never executes code. MMEngine's own local-file loads are routed here by
:mod:`smallbig_mm.mmaction.patches`.
"""

import contextlib
import os
import pickle
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Union

import torch
from torch import Tensor

from ..utils.files import atomic_output
from .allowlist import checkpoint_globals
from .errors import CheckpointError
from .validate import validate_checkpoint_meta

CONTAINER_KEYS = ('state_dict', 'model', 'state_dict_ema', 'model_ema', 'module')
"""Keys under which training checkpoints keep the state dict, tried in this order."""
SAFETENSORS_SUFFIX = '.safetensors'

_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_MAGIC = b'\x80'
_SAFETY_NOTE = (
    'weights_only loading allows only tensors, containers, numbers, strings and the '
    'allow-listed MMEngine training-checkpoint types, because unpickling anything else can '
    'run arbitrary code. If you made this file yourself, re-save just its weights, e.g. '
    'torch.save(model.state_dict(), path); never load files of unknown origin with '
    'weights_only=False'
)


@dataclass
class Checkpoint:
    """A checkpoint file as read: its state dict and the container around it.

    Attributes:
        path: the file.
        state_dict: parameter name -> tensor.
        container_key: the top-level key the state dict was found under (``'state_dict'``,
            ``'model'``, ...), or None when the file is a bare state dict.
        extras: the other top-level entries (``'meta'``, ``'epoch'``, ``'optimizer'``, ...);
            for safetensors files, the string metadata of the header.
    """

    path: str
    state_dict: Dict[str, Tensor]
    container_key: Optional[str] = None
    extras: Dict[str, Any] = field(default_factory=dict)


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    )


def _weights_only_refusal(path: str, message: str) -> CheckpointError:
    found = re.search(r'GLOBAL ([\w.]+)', message)
    what = (
        f'it pickles a reference to `{found.group(1)}`'
        if found
        else 'it holds pickled Python objects (not just tensors)'
    )
    return CheckpointError(f'{path}: refused to load: {what}. {_SAFETY_NOTE}.')


def _error_name(err: BaseException) -> str:
    kind = type(err)
    return kind.__name__ if kind.__module__ == 'builtins' else f'{kind.__module__}.{kind.__name__}'


def _allowed_globals():
    """A context allowing :func:`checkpoint_globals` for ``weights_only`` loads (scoped)."""
    scoped = getattr(torch.serialization, 'safe_globals', None)
    return scoped(checkpoint_globals()) if scoped is not None else contextlib.nullcontext()


def _torch_load(path: str, map_location: Any) -> Any:
    """``torch.load(weights_only=True)`` with every failure turned into a clear error."""
    with open(path, 'rb') as f:
        head = f.read(8)
    size = os.path.getsize(path)
    if size == 0:
        raise CheckpointError(f'{path}: the file is empty (an interrupted download or save?)')
    is_zip, is_pickle = head.startswith(_ZIP_MAGIC), head.startswith(_PICKLE_MAGIC)
    if not (is_zip or is_pickle):
        raise CheckpointError(
            f'{path}: not a PyTorch checkpoint: a torch.save file is a zip archive (or a '
            f'legacy pickle), but this one starts with {head!r}. A safetensors file needs the '
            f'"{SAFETENSORS_SUFFIX}" suffix.'
        )
    try:
        with _allowed_globals():
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if 'weights only' in str(err).lower() or 'weights_only' in str(err).lower():
            raise _weights_only_refusal(path, str(err)) from None
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f'{path}: corrupt checkpoint ({reason}); re-download or re-save it'
        ) from None
    except Exception as err:  # torch's zip and pickle readers fail in many ways
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        kind = 'zip archive' if is_zip else 'pickle'
        raise CheckpointError(
            f'{path}: truncated or corrupt checkpoint ({size} bytes; reading the {kind} '
            f'failed: {_error_name(err)}: {reason}); re-download or re-save it'
        ) from None


def _safetensors_load(path: str, map_location: Any) -> Checkpoint:
    try:
        from safetensors import safe_open
    except ImportError:
        raise CheckpointError(
            f'{path}: reading .safetensors files needs the safetensors '
            'package: pip install safetensors'
        ) from None
    device = 'cpu' if map_location is None else str(map_location)
    try:
        with safe_open(path, framework='pt', device=device) as f:
            state_dict = {key: f.get_tensor(key) for key in f.keys()}
            metadata = dict(f.metadata() or {})
    except Exception as err:  # safetensors raises its own SafetensorError or OSError
        raise CheckpointError(
            f'{path}: not a valid safetensors file ({os.path.getsize(path)} bytes; '
            f'{_error_name(err)}: {err}); it may be truncated: re-download or re-save it'
        ) from None
    if not state_dict:
        raise CheckpointError(f'{path}: the safetensors file holds no tensors')
    return Checkpoint(path, state_dict, None, metadata)


def _check_is_file(path: str) -> None:
    if not os.path.isfile(path):
        raise CheckpointError(
            f'{path}: no such file' if not os.path.exists(path) else f'{path}: not a file'
        )


def read_raw_checkpoint(path: Union[str, os.PathLike], map_location: Any = 'cpu') -> Any:
    """The object a checkpoint file holds, read as safely as :func:`read_checkpoint` reads.

    For callers that need the whole container as saved (MMEngine's runner reads
    ``meta``, ``optimizer``, ``message_hub``): no state dict is looked for. A
    ``.safetensors`` file gives its state dict.

    Raises:
        CheckpointError: naming the file: missing, empty, truncated, not a checkpoint, a
            pickle that would import code, or a ``meta`` entry of the wrong type, size or
            range (:func:`~.validate.validate_checkpoint_meta`).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'ckpt.pth')
        >>> torch.save({'meta': {'epoch': 1}}, path)
        >>> read_raw_checkpoint(path)
        {'meta': {'epoch': 1}}
    """
    path = os.fspath(path)
    _check_is_file(path)
    if path.endswith(SAFETENSORS_SUFFIX):
        return _safetensors_load(path, map_location).state_dict
    return _checked_meta(_torch_load(path, map_location), path)


def _checked_meta(obj: Any, path: str) -> Any:
    """``obj``, once its ``meta`` entry (if any) passed
    :func:`~.validate.validate_checkpoint_meta`."""
    if isinstance(obj, Mapping) and 'meta' in obj:
        validate_checkpoint_meta(obj['meta'], path)
    return obj


def read_checkpoint(path: Union[str, os.PathLike], map_location: Any = 'cpu') -> Checkpoint:
    """Reads a checkpoint file safely and finds the state dict inside.

    ``.safetensors`` files go through ``safetensors``; everything else through
    ``torch.load(weights_only=True)``. A bare state dict is returned as is; otherwise the
    first of :data:`CONTAINER_KEYS` holding a state dict is used (MMEngine and the
    reference code use ``'state_dict'``, torchvision's recipes ``'model'``, timm's EMA
    ``'state_dict_ema'``).

    Args:
        path: a ``.pth``/``.pt``/``.ckpt``/``.bin`` or ``.safetensors`` file.
        map_location: passed to ``torch.load`` (a device for safetensors).

    Returns:
        The :class:`Checkpoint`.

    Raises:
        CheckpointError: naming the file and what went wrong: missing, empty, truncated,
            not a checkpoint, a pickle that would import code, no state dict inside, a
            ``meta`` entry of the wrong type, size or range.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'ckpt.pth')
        >>> torch.save({'epoch': 3, 'state_dict': {'w': torch.ones(2)}}, path)
        >>> ckpt = read_checkpoint(path)
        >>> ckpt.container_key, list(ckpt.state_dict), ckpt.extras
        ('state_dict', ['w'], {'epoch': 3})
    """
    path = os.fspath(path)
    _check_is_file(path)
    if path.endswith(SAFETENSORS_SUFFIX):
        return _safetensors_load(path, map_location)
    obj = _checked_meta(_torch_load(path, map_location), path)
    if _is_state_dict(obj):
        return Checkpoint(path, dict(obj))
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f'{path}: holds a {type(obj).__name__}, not a state dict '
            '(a dict of parameter name -> tensor)'
        )
    for key in CONTAINER_KEYS:
        if _is_state_dict(obj.get(key)):
            extras = {k: v for k, v in obj.items() if k != key}
            return Checkpoint(path, dict(obj[key]), key, extras)
    keys = ', '.join(repr(k) for k in list(obj)[:8])
    raise CheckpointError(
        f'{path}: a dict with keys {keys}, but neither a state dict (parameter name -> '
        f'tensor) nor one under any of {CONTAINER_KEYS}: it is not a model checkpoint'
    )


def read_state_dict(path: Union[str, os.PathLike], map_location: Any = 'cpu') -> Dict[str, Tensor]:
    """Reads the state dict of a checkpoint file safely (see :func:`read_checkpoint`).

    Args:
        path: a ``.pth``-style or ``.safetensors`` file.
        map_location: where to put the tensors.

    Returns:
        Parameter name -> tensor, unwrapped from ``{'state_dict': ...}``-style containers.

    Raises:
        CheckpointError: naming the file and saying what went wrong.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'w.pth')
        >>> torch.save({'model': {'fc.weight': torch.zeros(3, 4)}}, path)
        >>> read_state_dict(path)['fc.weight'].shape
        torch.Size([3, 4])
    """
    return read_checkpoint(path, map_location).state_dict


def _unshared(state_dict: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """Contiguous tensors, copied where two share memory (safetensors refuses shared ones)."""
    out: Dict[str, Tensor] = {}
    seen = set()
    for key, value in state_dict.items():
        value = value.detach().contiguous()
        if value.numel() and value.untyped_storage().data_ptr() in seen:
            value = value.clone()
        seen.add(value.untyped_storage().data_ptr())
        out[key] = value
    return out


def write_checkpoint(
    obj: Mapping[str, Any],
    path: Union[str, os.PathLike],
    overwrite: bool = False,
    metadata: Optional[Mapping[str, str]] = None,
) -> None:
    """Writes a state dict (or a container of one) atomically, by the suffix of ``path``.

    ``.safetensors`` takes a bare state dict (plus string ``metadata``); any other suffix
    is written with ``torch.save``. The file appears only once fully written.

    Args:
        obj: a state dict, or for ``torch.save`` any container of tensors and plain values.
        path: the output file.
        overwrite: replace an existing file; without it an existing ``path`` is an error.
        metadata: safetensors header metadata (ignored for ``torch.save``).

    Raises:
        OutputExistsError: if ``path`` exists and ``overwrite`` is False.
        CheckpointError: if a safetensors file is asked for a non-state-dict object.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'w.safetensors')
        >>> write_checkpoint({'w': torch.ones(2)}, path)
        >>> read_state_dict(path)['w']
        tensor([1., 1.])
    """
    path = os.fspath(path)
    if path.endswith(SAFETENSORS_SUFFIX) and not _is_state_dict(obj):
        raise CheckpointError(f'{path}: a safetensors file holds only a flat dict of tensors')
    with atomic_output(path, force=overwrite) as tmp:
        if path.endswith(SAFETENSORS_SUFFIX):
            from safetensors.torch import save_file

            save_file(_unshared(obj), tmp, metadata=dict(metadata or {}))
        else:
            with open(tmp, 'wb') as f:  # archive name 'archive', not the temporary name
                torch.save(dict(obj), f)
