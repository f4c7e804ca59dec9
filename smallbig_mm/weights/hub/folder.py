"""Writing a checkpoint as a Hugging Face Hub style folder that timm loads.

The folder holds ``config.json`` (timm's layout), ``model.safetensors`` (the weights in the
timm layout) and ``README.md`` (the model card); see :mod:`smallbig_mm.weights.hub`.
"""

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ...utils.files import OutputPathError, atomic_folder
from ...utils.text import preview
from ..convert import parameter_count
from ..errors import CheckpointError
from ..io import read_checkpoint, write_checkpoint
from ..layouts import CLASSIFIER_KEYS, LAYOUTS_2D, detect_layout, to_timm_state_dict
from ..meta import WEIGHTS_META_KEY, WeightsMeta, timm_pretrained_cfg
from ..meta_config import as_mapping
from ..meta_files import resolve_meta
from ..validate import validate_hub_config
from .card import METRIC_NAMES, model_card
from .config_text import args_from_config, metric_types, parse_config_text
from .model_args import architecture_name, check_rebuilds, count_gmacs, infer_model_args, jsonable

HUB_FILES = ('README.md', 'config.json', 'model.safetensors')
"""What :func:`write_hub_folder` writes, and all that a folder it may replace can hold."""


@dataclass
class HubFolderSummary:
    """What :func:`write_hub_folder` wrote (printed by the converter)."""

    out_dir: str
    architecture: str
    model_args: Dict[str, Any]
    args_from: str
    num_parameters: int
    gmacs: Optional[float]
    training: str
    dropped: List[str] = field(default_factory=list)

    def summary(self) -> str:
        macs = f'{self.gmacs:.4g} GMACs' if self.gmacs is not None else 'GMACs not counted'
        return '\n'.join(
            [
                f'wrote {self.out_dir} (config.json, model.safetensors, README.md)',
                f'  timm: timm.create_model("local-dir:{self.out_dir}", pretrained=True)',
                f'  architecture: {self.architecture}; model_args from {self.args_from}: '
                f'{json.dumps(self.model_args)}',
                f'  parameters: {self.num_parameters:,}; {macs}',
                f'  trained: {self.training}',
                f'  dropped keys: {", ".join(self.dropped) or "none"}',
            ]
        )


def check_replaceable(out_dir: str) -> None:
    """Refuses to replace (even with ``force``) a folder that is not a hub folder.

    ``--force`` replaces an earlier output of this writer; a folder holding anything else
    (the current folder, a project, a home folder) would be deleted with it.

    Raises:
        OutputPathError: ``out_dir`` holds a file not in :data:`HUB_FILES`.
    """
    if os.path.isdir(out_dir) and not set(os.listdir(out_dir)) <= set(HUB_FILES):
        others = sorted(set(os.listdir(out_dir)) - set(HUB_FILES))
        raise OutputPathError(
            f'{out_dir} holds files a hub folder does not ({preview(others, 3)}); replacing '
            'it would delete them, so it is refused even with --force: choose a new or '
            'empty output folder'
        )


def _timm_state(src: str, ckpt_state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """``ckpt_state`` in the timm layout; a 2D ResNet or an unknown layout is refused."""
    try:
        layout = detect_layout(ckpt_state)
        if layout in LAYOUTS_2D:
            raise CheckpointError(
                'a 2D ResNet: inflate it into a model first (pretrained2d / '
                'load_weights(..., inflate_2d=True)), then save that model'
            )
        return dict(to_timm_state_dict(ckpt_state, layout))
    except CheckpointError as err:
        raise CheckpointError(f'{src}: {err}') from None


def _fit_classifier(
    src: str, state: Dict[str, Tensor], num_classes: int
) -> Tuple[Dict[str, Tensor], List[str]]:
    """(state, dropped keys): the classifier dropped for ``num_classes=0``; a mismatch refused."""
    fc = state.get('fc.weight')
    if fc is not None and fc.shape[0] != num_classes:
        if num_classes:
            raise CheckpointError(
                f'{src}: the classifier has {fc.shape[0]} classes but '
                f'num_classes={num_classes}: drop --model-arg num_classes, or '
                'use 0 to write the backbone only'
            )
        dropped = [k for k in CLASSIFIER_KEYS if k in state]
        return {k: v for k, v in state.items() if k not in CLASSIFIER_KEYS}, dropped
    if fc is None and num_classes:
        raise CheckpointError(
            f'{src}: no classifier in the checkpoint but num_classes='
            f'{num_classes}: use num_classes=0 (a backbone)'
        )
    return state, []


def _write_text(path: str, text: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def write_hub_folder(
    src: str,
    out_dir: str,
    model_args: Optional[Mapping[str, Any]] = None,
    input_values: Optional[Mapping[str, Any]] = None,
    license_id: Optional[str] = None,
    classes: Optional[List[str]] = None,
    meta: Optional[WeightsMeta] = None,
    base_model: Optional[str] = None,
    force: bool = False,
) -> HubFolderSummary:
    """Writes ``src`` as a Hugging Face Hub style folder (config.json, safetensors, card).

    Args:
        src: a SmallBig-ResNet checkpoint of any layout (read safely).
        out_dir: the folder to create.
        model_args: overrides of the architecture arguments (``depth``, ``block_types``,
            ``big_kernels``, ``num_classes``, ...), applied last.
        input_values: overrides of the record's input (:class:`~..meta.InputSpec` fields:
            ``num_frames``, ``frame_interval``, ``test_crop``, ``mean``, ``std``, ...).
        license_id: the card's license (Hub identifier); None: not stated.
        classes: the class names (overriding the record's).
        meta: the record to write (e.g. from the training config); default: the
            checkpoint's record, else the one its ``meta['cfg']`` implies, else defaults.
        base_model: the Hub id the weights were fine-tuned from, for the card.
        force: replace an existing non-empty ``out_dir``.

    Returns:
        A :class:`HubFolderSummary`.

    Raises:
        OutputExistsError: ``out_dir`` exists, is not empty and ``force`` is False.
        CheckpointError: unreadable ``src``, a 2D ResNet, ``model_args`` that do not
            rebuild the network of the weights, or a record of wrong types.

    Example:
        >>> import os, tempfile, torch
        >>> from smallbig_mm.models import SmallBigResNet
        >>> tmp = tempfile.mkdtemp()
        >>> torch.save(SmallBigResNet(depth=23, base_channels=8).state_dict(), f'{tmp}/w.pth')
        >>> summary = write_hub_folder(f'{tmp}/w.pth', f'{tmp}/hub')
        >>> sorted(os.listdir(f'{tmp}/hub')), summary.model_args['depth']
        (['README.md', 'config.json', 'model.safetensors'], 23)
    """
    out_dir = os.path.abspath(os.fspath(out_dir))
    ckpt = read_checkpoint(src)
    state = _timm_state(src, ckpt.state_dict)
    cfg_text = as_mapping(ckpt.extras.get('meta')).get('cfg')
    cfg = parse_config_text(cfg_text) if isinstance(cfg_text, str) else {}
    cfg_args = args_from_config(cfg)
    args = infer_model_args(state)
    args_from = 'the state dict shapes'
    if cfg_args:
        args.update(jsonable(cfg_args))
        args_from = "the checkpoint's config (meta['cfg'])"
    fc = state.get('fc.weight')
    args.setdefault('num_classes', int(fc.shape[0]) if fc is not None else 0)
    if model_args:
        args.update(jsonable(dict(model_args)))
        args_from += ' and flags'
    num_classes = int(args['num_classes'])
    state, dropped = _fit_classifier(src, state, num_classes)
    check_rebuilds(state, args, src)

    recorded = resolve_meta(ckpt, meta, input_values, classes)
    record = recorded or WeightsMeta()  # timm's defaults, not written as a record
    if record.classes is not None and num_classes and len(record.classes) != num_classes:
        raise CheckpointError(
            f'{src}: {len(record.classes)} class names for a classifier of '
            f'{num_classes} classes: give a label map of {num_classes} names'
        )
    args['num_frames'] = record.input.num_frames
    src_name = os.path.basename(src)
    arch = architecture_name(args)
    pretrained_cfg = dict(
        timm_pretrained_cfg(record, num_classes),
        classifier='fc',
        first_conv='conv1',
        paper_ids='arXiv:2006.14582',
        paper_name='SmallBigNet: Integrating Core and Contextual Views for Video Classification',
        description=f'converted from {src_name}',
    )
    if license_id:
        pretrained_cfg['license'] = license_id
    config = {
        'architecture': arch,
        'num_classes': num_classes,
        'num_features': args['base_channels'] * 32,
        'model_args': args,
        'pretrained_cfg': pretrained_cfg,
        **({'label_names': list(record.classes)} if record.classes else {}),
        **({WEIGHTS_META_KEY: record.to_dict()} if recorded else {}),
    }
    validate_hub_config(config, f'{src}: the config.json it gives')  # before GMACs are counted
    training = (
        '; '.join(str(v) for v in (record.provenance.config, record.provenance.dataset) if v)
        or 'unknown'
    )
    summary = HubFolderSummary(
        out_dir=out_dir,
        architecture=arch,
        model_args=args,
        args_from=args_from,
        num_parameters=parameter_count(state),
        gmacs=count_gmacs(args, num_classes, [3, *record.input.test_crop], record.input.num_frames),
        training=training,
        dropped=dropped,
    )
    metrics = sorted({METRIC_NAMES[t] for t in metric_types(cfg) if t in METRIC_NAMES})
    with atomic_folder(out_dir, force, inputs=(src,)) as tmp_dir:
        check_replaceable(out_dir)
        write_checkpoint(
            state,
            os.path.join(tmp_dir, 'model.safetensors'),
            metadata={
                'format': 'pt',
                'layout': 'timm',
                'source': src_name,
                **({WEIGHTS_META_KEY: record.to_json()} if recorded else {}),
                **_source_identity(src),
            },
        )
        _write_text(os.path.join(tmp_dir, 'config.json'), json.dumps(config, indent=2) + '\n')
        _write_text(
            os.path.join(tmp_dir, 'README.md'),
            model_card(
                os.path.basename(out_dir),
                config,
                summary,
                record,
                license_id,
                base_model,
                metrics,
                recorded is not None,
            ),
        )
    return summary


def _source_identity(src: str) -> Dict[str, str]:
    """The source checkpoint's SHA-256 and size, stored in the safetensors metadata so that
    a hub folder records which file it was made from."""
    from ...utils.provenance import file_identity

    if not os.path.isfile(src):
        return {}
    identity = file_identity(src, content=True)
    return {'source_sha256': identity['sha256'], 'source_size': str(identity['size'])}
