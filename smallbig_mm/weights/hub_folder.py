"""Writing a checkpoint as a Hugging Face Hub style folder that timm loads.

``tools/convert_checkpoint.py SRC OUT_DIR --to hf`` writes:

- ``config.json``: timm's layout (``architecture``, ``num_classes``, ``num_features``,
  ``model_args``, ``pretrained_cfg``), so that ``timm.create_model('local-dir:OUT_DIR',
  pretrained=True)`` (or ``hf-hub:ORG/NAME`` once uploaded) rebuilds exactly the network.
  ``model_args`` come from the checkpoint's MMEngine config (``meta['cfg']``) where it
  has one, else from the state dict's shapes; flags override both.
- ``model.safetensors``: the weights in the timm layout.
- ``README.md``: a model card with YAML front matter, the input spec, how the weights
  were trained (as far as the checkpoint says) and the parameter and MAC counts.

The folder is written beside ``OUT_DIR`` under a temporary name and renamed when
complete; an existing non-empty ``OUT_DIR`` is refused unless ``force``.
"""
import ast
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from ..models.constants import IMAGENET_MEAN, IMAGENET_STD
from ..models.units import DEFAULT_BIG_KERNELS
from ..utils.files import OutputPathError, atomic_folder
from ..utils.text import preview
from .convert import parameter_count
from .errors import CheckpointError
from .io import read_checkpoint, write_checkpoint
from .layouts import CLASSIFIER_KEYS, LAYOUTS_2D, depth_of, detect_layout, to_timm_state_dict

ARCH_ARGS = ('depth', 'block_types', 'extra_stages', 'big_views', 'big_kernels',
             'shared_big_weights', 'base_channels', 'in_chans')
"""The ``model_args`` that fix the network's weights (besides ``num_classes``)."""
PRETRAINED_CFG_KEYS = ('input_size', 'mean', 'std', 'crop_pct', 'interpolation', 'crop_mode')
"""Input entries that go into timm's ``pretrained_cfg``; the video ones go to ``video_input``."""
CITATION = '''@inproceedings{li2020smallbignet,
  title     = {SmallBigNet: Integrating Core and Contextual Views for Video Classification},
  author    = {Li, Xianhang and Wang, Yali and Zhou, Zhipeng and Qiao, Yu},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2020},
  note      = {arXiv:2006.14582}
}'''


# ---------------------------------------------------------------- reading an MMEngine config

def _literal(node: ast.AST, names: Mapping[str, Any]) -> Any:
    """Evaluates literals, ``dict(...)`` calls and names bound earlier; raises otherwise."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args:
        return {kw.arg: _literal(kw.value, names) for kw in node.keywords if kw.arg}
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_literal(k, names): _literal(v, names) for k, v in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def parse_config_text(text: str) -> Dict[str, Any]:
    """The top-level values of an MMEngine config's text, without running it.

    Only literals and ``dict(...)`` are evaluated (an MMEngine checkpoint's
    ``meta['cfg']`` is written in that form); anything else is left out.

    Example:
        >>> parse_config_text("model = dict(backbone=dict(depth=23), x=(1, 2))\\nlr = 0.1")
        {'model': {'backbone': {'depth': 23}, 'x': [1, 2]}, 'lr': 0.1}
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    names: Dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            try:
                names[stmt.targets[0].id] = _literal(stmt.value, names)
            except (ValueError, TypeError, SyntaxError, KeyError):
                continue
    return names


def _find(pipeline: Any, kind: str) -> Dict[str, Any]:
    for step in pipeline if isinstance(pipeline, list) else []:
        if isinstance(step, dict) and step.get('type') == kind:
            return step
    return {}


def spec_from_config(cfg: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any], List[str]]:
    """(model_args, pretrained_cfg entries, training notes) from a parsed MMAction2 config."""
    model = cfg.get('model') if isinstance(cfg.get('model'), dict) else {}
    backbone = model.get('backbone') if isinstance(model.get('backbone'), dict) else {}
    args = {k: backbone[k] for k in ARCH_ARGS if k in backbone}
    if 'in_channels' in backbone:
        args['in_chans'] = backbone['in_channels']
    head = model.get('cls_head') if isinstance(model.get('cls_head'), dict) else {}
    if 'num_classes' in head:
        args['num_classes'] = head['num_classes']
    spec: Dict[str, Any] = {}
    pre = model.get('data_preprocessor') if isinstance(model.get('data_preprocessor'), dict) \
        else {}
    if pre.get('mean') and pre.get('std'):
        scale = 255. if max(pre['mean']) > 1 else 1.
        spec['mean'] = [round(m / scale, 6) for m in pre['mean']]
        spec['std'] = [round(s / scale, 6) for s in pre['std']]
    pipeline = cfg.get('test_pipeline') or cfg.get('val_pipeline')
    frames = _find(pipeline, 'SampleFrames') or _find(pipeline, 'UniformSample')
    if frames.get('clip_len'):
        spec['num_frames'] = frames['clip_len']
    if frames.get('frame_interval'):
        spec['frame_interval'] = frames['frame_interval']
    if frames.get('num_clips'):
        spec['test_num_clips'] = frames['num_clips']
    for crop_type in ('CenterCrop', 'ThreeCrop', 'TenCrop'):
        crop = _find(pipeline, crop_type)
        if crop.get('crop_size'):
            size = crop['crop_size']
            spec['input_size'] = [3] + ([size, size] if isinstance(size, int) else list(size))
            spec['test_crop'] = crop_type
    resize = _find(pipeline, 'Resize')
    if isinstance(resize.get('scale'), list) and -1 in resize['scale']:
        spec['resize_short_side'] = max(resize['scale'])
    notes = []
    train = cfg.get('train_dataloader', {}).get('dataset', {}) \
        if isinstance(cfg.get('train_dataloader'), dict) else {}
    if isinstance(train, dict) and train:
        notes.append(f"training data: {train.get('type', 'dataset')} with annotations "
                     f"{train.get('ann_file', 'unknown')}")
    train_cfg = cfg.get('train_cfg') if isinstance(cfg.get('train_cfg'), dict) else {}
    if train_cfg.get('max_epochs'):
        notes.append(f"schedule: {train_cfg['max_epochs']} epochs")
    return args, spec, notes


# ---------------------------------------------------------------- reading the weights

def _stage_types(state: Mapping[str, Tensor], stage: int, blocks: int) -> Any:
    types = []
    for block in range(blocks):
        prefix = f'layer{stage + 1}.{block}.'
        if any(k.startswith(prefix + 'big') for k in state):
            types.append('smallbig')
        elif state[prefix + 'conv1.weight'].shape[2] > 1:
            types.append('3d')
        else:
            types.append('2d')
    return types[0] if len(set(types)) == 1 else types


def infer_model_args(state: Mapping[str, Tensor]) -> Dict[str, Any]:
    """The architecture arguments a timm-layout SmallBig-ResNet state dict implies.

    ``big_kernels`` (pooling windows) leave no trace in the weights: the paper's default is
    assumed unless the config or a flag says otherwise.

    Example:
        >>> from smallbig_mm.models import SmallBigResNet
        >>> sd = SmallBigResNet(depth=23, base_channels=8, block_types=('2d',) * 4).state_dict()
        >>> infer_model_args(sd)['block_types'], infer_model_args(sd)['depth']
        (['2d', '2d', '2d', '2d'], 23)
    """
    depth = depth_of(state)
    if depth is None:
        raise CheckpointError('cannot tell the depth from the keys (blocks per stage match no '
                              'known depth): give it with --model-arg depth=N')
    counts = [1 + max(int(k.split('.')[1]) for k in state if k.startswith(f'layer{s + 1}.'))
              for s in range(4)]
    conv1 = state['conv1.weight']
    big = [k for k in state if re.search(r'\.big[123]\.', k)]
    return {
        'depth': depth,
        'block_types': [_stage_types(state, s, n) for s, n in enumerate(counts)],
        'extra_stages': [any(k.startswith(f'layer{s + 1}.') and '.extra.' in k for k in state)
                         for s in range(4)],
        'big_views': [any(f'.big{i}.' in k for k in big) for i in (1, 2, 3)] if big
        else [True, True, True],
        'big_kernels': [list(kernel) for kernel in DEFAULT_BIG_KERNELS],
        'shared_big_weights': not any(re.search(r'\.big[123]\.conv\.', k) for k in big),
        'base_channels': int(conv1.shape[0]),
        'in_chans': int(conv1.shape[1]),
    }


def _architecture(args: Mapping[str, Any]) -> str:
    """The registered timm name closest to ``args`` (``model_args`` fix the rest)."""
    types = args.get('block_types')
    if types == ['2d'] * 4:
        return 'smallbig_c2d_resnet50'
    if types == ['2d', '2d', '3d', '3d']:
        return 'smallbig_3d_resnet50'
    if args.get('depth') == 50 and args.get('extra_stages') == [False, True, True, True]:
        return 'smallbig_resnet50_extra'
    return f"smallbig_resnet{args.get('depth', 50)}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- the folder

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


def _count_gmacs(args: Mapping[str, Any], num_classes: int, input_size: List[int],
                 frames: int) -> Optional[float]:
    from ..analysis.complexity import count_macs
    from ..models import SmallBigResNet

    core = {k: v for k, v in args.items() if k in ARCH_ARGS and k != 'in_chans'}
    try:
        macs = count_macs(lambda: SmallBigResNet(in_channels=args.get('in_chans', 3), **core),
                          (1, input_size[0], frames, input_size[1], input_size[2]))
    except Exception:  # an unusual input size the network cannot take: leave it out
        return None
    width = args['base_channels'] * 32
    return (macs + width * num_classes) / 1e9


def _check_rebuilds(state: Mapping[str, Tensor], args: Mapping[str, Any], src: str) -> None:
    """Builds the core network from ``args`` and loads ``state`` strictly (no classifier)."""
    from ..models import SmallBigResNet
    from .loading import load_state_dict_into

    core = {k: v for k, v in args.items() if k in ARCH_ARGS and k != 'in_chans'}
    try:
        model = SmallBigResNet(in_channels=args.get('in_chans', 3), **core)
        load_state_dict_into(model, {k: v for k, v in state.items() if k not in CLASSIFIER_KEYS})
    except (CheckpointError, ValueError, TypeError) as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(f'{src}: the model_args {json.dumps(_jsonable(dict(core)))} do not '
                              f'rebuild the network of the weights ({first}); fix them with '
                              '--model-arg KEY=VALUE') from None


def _model_card(out_name: str, config: Mapping[str, Any], summary: HubFolderSummary,
                license_id: str, src_name: str) -> str:
    cfg = dict(config['pretrained_cfg'], **config['video_input'])
    size = cfg['input_size']
    frames, interval = cfg.get('num_frames'), cfg.get('frame_interval')
    macs = f'{summary.gmacs:.2f}' if summary.gmacs is not None else 'not counted'
    classes = config['num_classes'] or 'none (a backbone: features only)'
    lines = [
        '---',
        'library_name: timm',
        f'license: {license_id}',
        'pipeline_tag: video-classification',
        'tags:',
        '- video-classification',
        '- timm',
        '- smallbignet',
        '- smallbig-mm',
        '---',
        '',
        f'# {out_name}',
        '',
        f'A SmallBigNet video classifier (`{summary.architecture}`, a timm model of the '
        f'smallbig-mm package), converted from `{src_name}` with '
        '`tools/convert_checkpoint.py --to hf`.',
        '',
        '## How the weights were trained',
        '',
        summary.training,
        '',
        '## Model',
        '',
        f'- architecture: `{summary.architecture}` with `model_args` (from {summary.args_from}):',
        f'  `{json.dumps(summary.model_args)}`',
        f'- classes: {classes}',
        f'- parameters: {summary.num_parameters:,} (norm running statistics not counted)',
        f'- GMACs per clip of {frames or "?"} x {size[1]} x {size[2]}: {macs} '
        '(multiply-accumulates of convolutions and the classifier)',
        '',
        '## Input',
        '',
        f'- clips (N, {size[0]}, T, {size[1]}, {size[2]}), RGB, values in [0, 1] normalised '
        f'with mean {list(cfg["mean"])} and std {list(cfg["std"])}',
        f'- frames per clip T: {frames if frames else "unknown"}; frame interval: '
        f'{interval if interval else "unknown"}',
        f'- test crop: {cfg.get("test_crop", "unknown")} of {size[1]} x {size[2]}'
        + (f' after resizing the short side to {cfg["resize_short_side"]}'
           if cfg.get('resize_short_side') else ''),
        '',
        '## Usage',
        '',
        '```python',
        'import timm, torch',
        'import smallbig_mm  # registers the smallbig_* models with timm',
        '',
        f"model = timm.create_model('local-dir:{out_name}', pretrained=True).eval()",
        f"# or, once uploaded: timm.create_model('hf-hub:ORG/{out_name}', pretrained=True)",
        f'logits = model(torch.randn(1, {size[0]}, {frames or 8}, {size[1]}, {size[2]}))',
        '```',
        '',
        '## Citation',
        '',
        '```bibtex',
        CITATION,
        '```',
        '',
    ]
    return '\n'.join(lines)


def _write_text(path: str, text: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


HUB_FILES = ('README.md', 'config.json', 'model.safetensors')
"""What :func:`write_hub_folder` writes, and all that a folder it may replace can hold."""


def check_replaceable(out_dir: str) -> None:
    """Refuses to replace (even with ``force``) a folder that is not a hub folder.

    ``--force`` replaces an earlier output of this writer; a folder holding anything else
    (the current folder, a project, a home folder) would be deleted with it.
    """
    if os.path.isdir(out_dir) and not set(os.listdir(out_dir)) <= set(HUB_FILES):
        others = sorted(set(os.listdir(out_dir)) - set(HUB_FILES))
        raise OutputPathError(
            f'{out_dir} holds files a hub folder does not ({preview(others, 3)}); replacing '
            'it would delete them, so it is refused even with --force: choose a new or '
            'empty output folder')


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
    try:
        layout = detect_layout(ckpt.state_dict)
        if layout in LAYOUTS_2D:
            raise CheckpointError('a 2D ResNet: inflate it into a model first (pretrained2d / '
                                  'load_pretrained), then save that model')
        state = dict(to_timm_state_dict(ckpt.state_dict, layout))
    except CheckpointError as err:
        raise CheckpointError(f'{src}: {err}') from None
    meta = ckpt.extras.get('meta') if isinstance(ckpt.extras.get('meta'), Mapping) else {}
    cfg = parse_config_text(meta['cfg']) if isinstance(meta.get('cfg'), str) else {}
    cfg_args, spec, notes = spec_from_config(cfg)
    args = infer_model_args(state)
    args_from = 'the state dict shapes'
    if cfg_args:
        args.update(_jsonable(cfg_args))
        args_from = "the checkpoint's config (meta['cfg'])"
    fc = state.get('fc.weight')
    args.setdefault('num_classes', int(fc.shape[0]) if fc is not None else 0)
    if model_args:
        args.update(_jsonable(dict(model_args)))
        args_from += ' and flags'
    num_classes = int(args['num_classes'])
    dropped: List[str] = []
    if fc is not None and fc.shape[0] != num_classes:
        if num_classes:
            raise CheckpointError(f'{src}: the classifier has {fc.shape[0]} classes but '
                                  f'num_classes={num_classes}: drop --model-arg num_classes, or '
                                  'use 0 to write the backbone only')
        dropped = [k for k in CLASSIFIER_KEYS if k in state]
        state = {k: v for k, v in state.items() if k not in CLASSIFIER_KEYS}
    elif fc is None and num_classes:
        raise CheckpointError(f'{src}: no classifier in the checkpoint but num_classes='
                              f'{num_classes}: use num_classes=0 (a backbone)')
    _check_rebuilds(state, args, src)

    spec.update(_jsonable(dict(pretrained_cfg or {})))
    spec.setdefault('input_size', [args.get('in_chans', 3), 224, 224])
    spec.setdefault('mean', list(IMAGENET_MEAN))
    spec.setdefault('std', list(IMAGENET_STD))
    spec.setdefault('num_frames', args.get('num_frames', 8))
    if spec.get('resize_short_side'):
        spec.setdefault('crop_pct', round(spec['input_size'][1] / spec['resize_short_side'], 6))
    spec.setdefault('crop_pct', 0.875)
    spec.setdefault('interpolation', 'bilinear')
    args['num_frames'] = int(spec['num_frames'])
    src_name = os.path.basename(src)
    if training is None:
        facts = [f"experiment {meta['experiment_name']}"] if meta.get('experiment_name') else []
        if meta.get('epoch'):
            facts.append(f"saved at epoch {meta['epoch']}")
        if notes:  # the config names the data and schedule
            training = '; '.join(notes + facts) + f' (from the checkpoint meta of {src_name})'
        else:
            training = f'unknown — converted from {src_name}' + (
                f" (its meta records only: {'; '.join(facts)})" if facts else '')
    arch = _architecture(args)
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
        gmacs=_count_gmacs(args, num_classes, spec['input_size'], spec['num_frames']),
        training=training, dropped=dropped)
    with atomic_folder(out_dir, force, inputs=(src,)) as tmp_dir:
        check_replaceable(out_dir)
        write_checkpoint(state, os.path.join(tmp_dir, 'model.safetensors'),
                         metadata={'format': 'pt', 'layout': 'timm', 'source': src_name})
        _write_text(os.path.join(tmp_dir, 'config.json'), json.dumps(config, indent=2) + '\n')
        _write_text(os.path.join(tmp_dir, 'README.md'),
                    _model_card(os.path.basename(out_dir), config, summary, license_id,
                                src_name))
    return summary
