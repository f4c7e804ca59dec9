"""Writing a checkpoint as a Hugging Face Hub style folder that timm loads.

The folder holds ``config.json`` (timm's layout), ``model.safetensors`` (the weights in the
timm layout) and ``README.md`` (the model card); see :mod:`smallbig_mm.weights.hub`.
"""
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ...models.constants import IMAGENET_MEAN, IMAGENET_STD
from ...utils.files import OutputPathError, atomic_folder
from ...utils.text import preview
from ..convert import parameter_count
from ..errors import CheckpointError
from ..io import read_checkpoint, write_checkpoint
from ..layouts import CLASSIFIER_KEYS, LAYOUTS_2D, detect_layout, to_timm_state_dict
from .card import model_card
from .config_text import parse_config_text, spec_from_config
from .model_args import architecture_name, check_rebuilds, count_gmacs, infer_model_args, jsonable

PRETRAINED_CFG_KEYS = ('input_size', 'mean', 'std', 'crop_pct', 'interpolation', 'crop_mode')
"""Input entries that go into timm's ``pretrained_cfg``; the video ones go to ``video_input``."""
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
        macs = f'{self.gmacs:.2f} GMACs' if self.gmacs is not None else 'GMACs not counted'
        return '\n'.join([
            f'wrote {self.out_dir} (config.json, model.safetensors, README.md)',
            f'  timm: timm.create_model("local-dir:{self.out_dir}", pretrained=True)',
            f'  architecture: {self.architecture}; model_args from {self.args_from}: '
            f'{json.dumps(self.model_args)}',
            f'  parameters: {self.num_parameters:,}; {macs}',
            f'  trained: {self.training}',
            f'  dropped keys: {", ".join(self.dropped) or "none"}'])


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
            'empty output folder')


def _timm_state(src: str, ckpt_state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """``ckpt_state`` in the timm layout; a 2D ResNet or an unknown layout is refused."""
    try:
        layout = detect_layout(ckpt_state)
        if layout in LAYOUTS_2D:
            raise CheckpointError('a 2D ResNet: inflate it into a model first (pretrained2d / '
                                  'load_pretrained), then save that model')
        return dict(to_timm_state_dict(ckpt_state, layout))
    except CheckpointError as err:
        raise CheckpointError(f'{src}: {err}') from None


def _fit_classifier(src: str, state: Dict[str, Tensor], num_classes: int
                    ) -> Tuple[Dict[str, Tensor], List[str]]:
    """(state, dropped keys): the classifier dropped for ``num_classes=0``; a mismatch refused."""
    fc = state.get('fc.weight')
    if fc is not None and fc.shape[0] != num_classes:
        if num_classes:
            raise CheckpointError(f'{src}: the classifier has {fc.shape[0]} classes but '
                                  f'num_classes={num_classes}: drop --model-arg num_classes, or '
                                  'use 0 to write the backbone only')
        dropped = [k for k in CLASSIFIER_KEYS if k in state]
        return {k: v for k, v in state.items() if k not in CLASSIFIER_KEYS}, dropped
    if fc is None and num_classes:
        raise CheckpointError(f'{src}: no classifier in the checkpoint but num_classes='
                              f'{num_classes}: use num_classes=0 (a backbone)')
    return state, []


def _input_spec(spec: Dict[str, Any], overrides: Mapping[str, Any], in_chans: int,
                num_frames: int) -> Dict[str, Any]:
    """The input spec: the config's, the flags' ``overrides``, then timm's defaults."""
    spec.update(jsonable(dict(overrides)))
    spec.setdefault('input_size', [in_chans, 224, 224])
    spec.setdefault('mean', list(IMAGENET_MEAN))
    spec.setdefault('std', list(IMAGENET_STD))
    spec.setdefault('num_frames', num_frames)
    if spec.get('resize_short_side'):
        spec.setdefault('crop_pct', round(spec['input_size'][1] / spec['resize_short_side'], 6))
    spec.setdefault('crop_pct', 0.875)
    spec.setdefault('interpolation', 'bilinear')
    return spec


def _training_text(meta: Mapping[str, Any], notes: List[str], src_name: str) -> str:
    """How the weights were trained, as far as the checkpoint's config and meta say."""
    facts = [f"experiment {meta['experiment_name']}"] if meta.get('experiment_name') else []
    if meta.get('epoch'):
        facts.append(f"saved at epoch {meta['epoch']}")
    if notes:  # the config names the data and schedule
        return '; '.join(notes + facts) + f' (from the checkpoint meta of {src_name})'
    return f'unknown — converted from {src_name}' + (
        f" (its meta records only: {'; '.join(facts)})" if facts else '')


def _write_text(path: str, text: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def write_hub_folder(src: str, out_dir: str, model_args: Optional[Mapping[str, Any]] = None,
                     pretrained_cfg: Optional[Mapping[str, Any]] = None,
                     license_id: str = 'other', training: Optional[str] = None,
                     force: bool = False) -> HubFolderSummary:
    """Writes ``src`` as a Hugging Face Hub style folder (config.json, safetensors, card).

    Args:
        src: a SmallBig-ResNet checkpoint of any layout (read safely).
        out_dir: the folder to create.
        model_args: overrides of the architecture arguments (``depth``, ``block_types``,
            ``big_kernels``, ``num_classes``, ...), applied last.
        pretrained_cfg: overrides of the input spec (``num_frames``, ``frame_interval``,
            ``input_size``, ``mean``, ``std``, ...).
        license_id: the card's license (Hub identifier); ``'other'`` when unknown.
        training: how and on what the weights were trained, for the card; default: what
            the checkpoint's meta says, else "unknown".
        force: replace an existing non-empty ``out_dir``.

    Returns:
        A :class:`HubFolderSummary`.

    Raises:
        OutputExistsError: ``out_dir`` exists, is not empty and ``force`` is False.
        CheckpointError: unreadable ``src``, a 2D ResNet, or ``model_args`` that do not
            rebuild the network of the weights.

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
    meta = ckpt.extras.get('meta') if isinstance(ckpt.extras.get('meta'), Mapping) else {}
    cfg = parse_config_text(meta['cfg']) if isinstance(meta.get('cfg'), str) else {}
    cfg_args, spec, notes = spec_from_config(cfg)
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

    spec = _input_spec(spec, pretrained_cfg or {}, args.get('in_chans', 3),
                       args.get('num_frames', 8))
    args['num_frames'] = int(spec['num_frames'])
    src_name = os.path.basename(src)
    if training is None:
        training = _training_text(meta, notes, src_name)
    arch = architecture_name(args)
    config = {
        'architecture': arch,
        'num_classes': num_classes,
        'num_features': args['base_channels'] * 32,
        'model_args': args,
        'pretrained_cfg': dict(
            {k: spec[k] for k in PRETRAINED_CFG_KEYS if k in spec},
            num_classes=num_classes, classifier='fc', first_conv='conv1',
            paper_ids='arXiv:2006.14582',
            paper_name='SmallBigNet: Integrating Core and Contextual Views for Video '
                       'Classification',
            license=license_id, description=f'converted from {src_name}',
            notes=[f'training: {training}']),
        'video_input': {k: v for k, v in spec.items() if k not in PRETRAINED_CFG_KEYS},
    }
    summary = HubFolderSummary(
        out_dir=out_dir, architecture=arch, model_args=args, args_from=args_from,
        num_parameters=parameter_count(state),
        gmacs=count_gmacs(args, num_classes, spec['input_size'], spec['num_frames']),
        training=training, dropped=dropped)
    with atomic_folder(out_dir, force, inputs=(src,)) as tmp_dir:
        check_replaceable(out_dir)
        write_checkpoint(state, os.path.join(tmp_dir, 'model.safetensors'),
                         metadata=dict({'format': 'pt', 'layout': 'timm', 'source': src_name},
                                       **_source_identity(src)))
        _write_text(os.path.join(tmp_dir, 'config.json'), json.dumps(config, indent=2) + '\n')
        _write_text(os.path.join(tmp_dir, 'README.md'),
                    model_card(os.path.basename(out_dir), config, summary, license_id,
                               src_name))
    return summary


def _source_identity(src: str) -> Dict[str, str]:
    """The source checkpoint's SHA-256 and size, stored in the safetensors metadata so that
    a hub folder records which file it was made from."""
    from ...utils.provenance import file_identity

    if not os.path.isfile(src):
        return {}
    identity = file_identity(src, content=True)
    return {'source_sha256': identity['sha256'], 'source_size': str(identity['size'])}
