"""Reading the weights record (:class:`~.meta.WeightsMeta`) of a file that holds weights.

Where it is found, in order:

1. a hub folder's ``config.json`` key ``weights_meta``;
2. a checkpoint's ``meta['weights_meta']`` (training checkpoints of any config, the
   converter's ``.pth`` outputs) or a safetensors header's ``weights_meta`` string;
3. derived from an MMEngine checkpoint's config text (``meta['cfg']``), for checkpoints
   written before the record existed or by a runner without ``smallbig_mm.mmaction``.
"""

import datetime
import logging
import os
from dataclasses import asdict, replace
from typing import Any, Dict, List, Mapping, Optional

from .io import Checkpoint
from .meta import WEIGHTS_META_KEY, WeightsMeta, WeightsMetaError


def _mmengine_date(text: Any) -> Optional[str]:
    """MMEngine's ``meta['time']`` (``%Y%m%d_%H%M%S``, local time) as an ISO date."""
    try:
        return datetime.datetime.strptime(str(text), '%Y%m%d_%H%M%S').isoformat()
    except ValueError:
        return None


def checkpoint_meta(ckpt: Checkpoint) -> Optional[WeightsMeta]:
    """The record a checkpoint holds or its MMEngine config implies; None if neither.

    Raises:
        WeightsMetaError: a record of wrong types or ranges (naming the file).
    """
    extras = ckpt.extras
    text = extras.get(WEIGHTS_META_KEY)
    if isinstance(text, str):  # safetensors header metadata
        return WeightsMeta.from_json(text, f'{ckpt.path} ({WEIGHTS_META_KEY})')
    meta = extras.get('meta')
    if not isinstance(meta, Mapping):
        return None
    if meta.get(WEIGHTS_META_KEY) is not None:
        return WeightsMeta.from_dict(
            meta[WEIGHTS_META_KEY], f"{ckpt.path} (meta['{WEIGHTS_META_KEY}'])"
        )
    if isinstance(meta.get('cfg'), str):
        from .hub.config_text import parse_config_text
        from .meta_config import meta_from_config

        cfg = parse_config_text(meta['cfg'])
        if not isinstance(cfg.get('model'), Mapping):
            return None
        dataset_meta = meta.get('dataset_meta')
        classes = dataset_meta.get('classes') if isinstance(dataset_meta, Mapping) else None
        if not (
            isinstance(classes, (list, tuple))
            and classes
            and all(isinstance(c, str) for c in classes)
        ):
            classes = None
        epoch = meta.get('epoch')
        return meta_from_config(
            cfg,
            classes=classes,
            epochs=epoch if isinstance(epoch, int) else None,
            date=_mmengine_date(meta.get('time')),
        )
    return None


def source_meta(
    config: Mapping[str, Any], ckpt: Checkpoint, source: str = 'config.json'
) -> Optional[WeightsMeta]:
    """The record of weights from a hub folder (its ``config.json``) or a checkpoint."""
    if config.get(WEIGHTS_META_KEY) is not None:
        where = (
            source
            if source.startswith('hf-hub:') or source.endswith('.json')
            else os.path.join(source, 'config.json')
        )
        return WeightsMeta.from_dict(config[WEIGHTS_META_KEY], f'{where} ({WEIGHTS_META_KEY})')
    return checkpoint_meta(ckpt)


def meta_entries(meta: Optional[WeightsMeta]) -> Dict[str, Any]:
    """``{'weights_meta': record}`` for a checkpoint's ``meta`` ({} without a record)."""
    return {WEIGHTS_META_KEY: meta.to_dict()} if meta is not None else {}


def read_label_map(path: str) -> List[str]:
    """A label map: one class name per line, in label order (blank lines ignored).

    Raises:
        WeightsMetaError: the file is missing or holds no names.
    """
    if not os.path.isfile(path):
        raise WeightsMetaError(
            f'label map not found: {path} (a text file with one class name '
            'per line, e.g. demo/label_map_k400.txt)'
        )
    with open(path, encoding='utf-8') as f:
        labels = [line.strip() for line in f if line.strip()]
    if not labels:
        raise WeightsMetaError(f'label map {path} is empty: it needs one class name per line')
    return labels


def reconcile(
    config_meta: WeightsMeta,
    weights_meta: Optional[WeightsMeta],
    source: str,
    logger: logging.Logger,
) -> WeightsMeta:
    """The record of a config front end: the config's input (what its pipeline does), the
    class names of the config or else of the weights, the weights' provenance.

    A weights record whose input differs from the config's is reported in one line.
    """
    if weights_meta is None:
        return config_meta
    ours, theirs = asdict(config_meta.input), asdict(weights_meta.input)
    differ = [f'{k} {ours[k]} (recorded: {theirs[k]})' for k in ours if ours[k] != theirs[k]]
    if differ:
        logger.warning(
            f'{source}: the config is used, though the weights record another '
            'input: ' + '; '.join(differ)
        )
    return replace(
        config_meta,
        classes=config_meta.classes or weights_meta.classes,
        provenance=weights_meta.provenance,
    )


def resolve_meta(
    ckpt: Checkpoint,
    meta: Optional[WeightsMeta] = None,
    input_values: Optional[Mapping[str, Any]] = None,
    classes: Optional[List[str]] = None,
) -> Optional[WeightsMeta]:
    """The record a converter writes: ``meta`` (e.g. from ``--config``), else the
    checkpoint's (:func:`checkpoint_meta`); then the flags' input values and class names
    (validated, on the defaults where there is no record). None when there is neither a
    record nor a flag: no record is better than a guessed one.
    """
    from ..version import __version__
    from .meta import Provenance, with_overrides

    record = meta or checkpoint_meta(ckpt)
    if not input_values and classes is None:
        return record
    if record is None:
        record = WeightsMeta(provenance=Provenance(package_version=__version__))
    return with_overrides(record, input_values, classes, f'{ckpt.path} (--input / --labels)')
