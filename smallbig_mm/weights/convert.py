"""Converting checkpoint files between layouts (the logic of tools/convert_checkpoint.py).

Output containers, chosen by the target layout (``.safetensors`` files always hold the
bare state dict, with the layout and any epoch in their string metadata):

| layout              | ``.pth`` content                                                 |
|---------------------|------------------------------------------------------------------|
| `timm`              | ``{'state_dict', 'meta'}`` (timm's ``load_checkpoint`` reads it) |
| `mmaction_backbone` | ``{'state_dict', 'meta'}``                                       |
| `mmaction`          | ``{'meta', 'state_dict'}`` (MMEngine's ``load_checkpoint``)      |
| `reference`         | ``{'epoch', 'state_dict', 'best_metric', 'meta'}``, ``module.``  |

``meta`` holds the weights record (:mod:`.meta`), ``meta['weights_meta']``; a safetensors
header its JSON string. A source without a record (and no ``--config``, ``--input`` or
``--labels``) gets none: the timm and backbone ``.pth`` files are then the bare state dict
and the reference container has no ``meta``.

Training state (optimizer, schedulers, message hub) is never carried over: a converted
checkpoint holds weights, for evaluation or fine-tuning. Nothing is written unless a
network built from the weights' own shapes loads them exactly.
"""

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ..utils.files import check_output_path
from ..utils.text import preview
from .errors import CheckpointError
from .io import SAFETENSORS_SUFFIX, Checkpoint, read_checkpoint, write_checkpoint
from .layouts import LAYOUTS, convert_state_dict, detect_layout, to_timm_state_dict
from .meta import WEIGHTS_META_KEY, WeightsMeta
from .meta_config import as_mapping
from .meta_files import meta_entries, resolve_meta

_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')


def parameter_count(state_dict: Mapping[str, Tensor]) -> int:
    """Elements of a state dict's parameters (norm running statistics excluded).

    Example:
        >>> import torch
        >>> parameter_count({'bn.weight': torch.zeros(4), 'bn.running_mean': torch.zeros(4)})
        4
    """
    return sum(v.numel() for k, v in state_dict.items() if not k.endswith(_BUFFERS))


@dataclass
class ConversionSummary:
    """What :func:`convert_checkpoint` read, wrote, renamed and dropped.

    Attributes:
        src, dst: the files.
        source_layout, target_layout: the layouts (see :data:`~.layouts.LAYOUTS`).
        num_keys_in, num_keys_out: tensors in the source and output state dicts.
        num_parameters: parameter elements written (norm running statistics excluded).
        renamed: number of tensors written under a new key.
        dropped: source keys not written (e.g. the classifier for ``mmaction_backbone``).
        added: output keys with no source tensor (none for the built-in layouts).
        dropped_entries: top-level entries of the source file not carried over
            (``optimizer``, ``message_hub``, ...).
        added_entries: top-level entries written besides the state dict.
    """

    src: str
    dst: str
    source_layout: str
    target_layout: str
    num_keys_in: int
    num_keys_out: int
    num_parameters: int
    renamed: int
    dropped: List[str] = field(default_factory=list)
    added: List[str] = field(default_factory=list)
    dropped_entries: List[str] = field(default_factory=list)
    added_entries: List[str] = field(default_factory=list)

    def summary(self) -> str:
        """Readable lines for the command line."""

        def show(items: List[str]) -> str:
            return preview(items) if items else 'none'

        return '\n'.join(
            [
                f'{self.src} ({self.source_layout}, {self.num_keys_in} keys)',
                f'  -> {self.dst} ({self.target_layout}, {self.num_keys_out} keys)',
                f'  parameters: {self.num_parameters:,} (norm running statistics not counted)',
                f'  renamed keys: {self.renamed}',
                f'  dropped keys: {show(self.dropped)}',
                f'  added keys: {show(self.added)}',
                f'  file entries dropped: {show(self.dropped_entries)}',
                f'  file entries added: {show(self.added_entries)}',
            ]
        )


def _number(value: Any, kind: type, default):
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


def _container(
    ckpt: Checkpoint,
    state_dict: Dict[str, Tensor],
    to: str,
    source_layout: str,
    safetensors: bool,
    record: Optional[WeightsMeta],
) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """(object to save, safetensors metadata) for the target layout; both carry the
    weights record (``weights_meta``) where there is one."""
    meta = as_mapping(ckpt.extras.get('meta'))
    epoch = _number(ckpt.extras.get('epoch', meta.get('epoch')), int, 0)
    best = _number(ckpt.extras.get('best_metric'), float, 0.0)
    metadata = {'format': 'pt', 'layout': to, 'source_layout': source_layout}
    if record is not None:
        metadata[WEIGHTS_META_KEY] = record.to_json()
    if safetensors:
        if to == 'reference':
            metadata.update(epoch=str(epoch), best_metric=repr(best))
        return state_dict, metadata
    if to == 'reference':
        return dict(
            {'epoch': epoch, 'state_dict': state_dict, 'best_metric': best},
            **({'meta': meta_entries(record)} if record else {}),
        ), metadata
    if to == 'mmaction':
        new_meta = dict(meta)
        new_meta.update(
            converted_from=os.path.basename(ckpt.path),
            source_layout=source_layout,
            **meta_entries(record),
        )
        return {'meta': new_meta, 'state_dict': state_dict}, metadata
    if record is None:
        return state_dict, metadata
    return {'state_dict': state_dict, 'meta': meta_entries(record)}, metadata


def convert_checkpoint(
    src: str,
    dst: str,
    to: str,
    source_layout: Optional[str] = None,
    force: bool = False,
    meta: Optional[WeightsMeta] = None,
    input_values: Optional[Mapping[str, Any]] = None,
    classes: Optional[List[str]] = None,
) -> ConversionSummary:
    """Converts a checkpoint file to another layout and writes it (``.pth`` or ``.safetensors``).

    Args:
        src: the source file (read safely, see :func:`~.io.read_checkpoint`).
        dst: the output; ``.safetensors`` writes safetensors, anything else ``torch.save``.
        to: the target layout, one of :data:`~.layouts.LAYOUTS`.
        source_layout: the source layout; None or ``'auto'`` detects it.
        force: overwrite an existing ``dst``.
        meta, input_values, classes: the weights record to write (default: the source's,
            see :func:`~.meta_files.resolve_meta`) and overrides of its input and classes.

    Returns:
        A :class:`ConversionSummary`.

    Raises:
        OutputExistsError: if ``dst`` exists and ``force`` is False (checked before
            reading; a ``FileExistsError``).
        OutputPathError: if ``dst`` is ``src`` (even with ``force``) or a folder.
        CheckpointError: naming ``src`` for unreadable or unconvertible checkpoints
            (a 2D ResNet needs a model to inflate into, so it is refused with a hint), and
            for weights no SmallBig-ResNet can be built from: the output is built and
            fit-checked before it is written (:func:`~.hub.model_args.check_buildable`).

    Example:
        >>> import os, tempfile, torch
        >>> from smallbig_mm.models import SmallBigResNet
        >>> tmp = tempfile.mkdtemp()
        >>> torch.save(SmallBigResNet(depth=23, base_channels=8).state_dict(),
        ...            os.path.join(tmp, 'backbone.pth'))
        >>> summary = convert_checkpoint(os.path.join(tmp, 'backbone.pth'),
        ...                              os.path.join(tmp, 'ref.pth'), to='reference')
        >>> summary.source_layout, summary.renamed == summary.num_keys_out
        ('mmaction_backbone', True)
    """
    if to not in LAYOUTS:
        raise CheckpointError(f'unknown target layout {to!r}: use one of {LAYOUTS}')
    check_output_path(dst, force, inputs=(src,))
    ckpt = read_checkpoint(src)
    if source_layout in (None, 'auto'):
        try:
            source_layout = detect_layout(ckpt.state_dict)
        except CheckpointError as err:
            raise CheckpointError(f'{src}: {err}') from None
    try:
        converted = convert_state_dict(ckpt.state_dict, to, source_layout)
    except CheckpointError as err:
        raise CheckpointError(f'{src}: {err}') from None
    from .hub.model_args import check_buildable  # the hub package imports this module

    check_buildable(to_timm_state_dict(converted, to), src)  # before anything is written
    safetensors = dst.endswith(SAFETENSORS_SUFFIX)
    record = resolve_meta(ckpt, meta, input_values, classes)
    obj, metadata = _container(ckpt, converted, to, source_layout, safetensors, record)
    write_checkpoint(obj, dst, overwrite=force, metadata=metadata)

    source_ids = {id(v): k for k, v in ckpt.state_dict.items()}
    written_ids = {id(v) for v in converted.values()}
    carried = set(obj) - {'state_dict'} if obj is not converted else set()
    source_entries = set() if ckpt.path.endswith(SAFETENSORS_SUFFIX) else set(ckpt.extras)
    return ConversionSummary(
        src=src,
        dst=dst,
        source_layout=source_layout,
        target_layout=to,
        num_keys_in=len(ckpt.state_dict),
        num_keys_out=len(converted),
        num_parameters=parameter_count(converted),
        renamed=sum(1 for k, v in converted.items() if source_ids.get(id(v)) != k),
        dropped=[k for k, v in ckpt.state_dict.items() if id(v) not in written_ids],
        added=[k for k, v in converted.items() if id(v) not in source_ids],
        dropped_entries=sorted(source_entries - carried),
        added_entries=sorted(carried - source_entries),
    )
