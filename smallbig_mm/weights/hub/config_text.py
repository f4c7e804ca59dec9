"""Reading what an MMEngine config says about a model, from its text (never running it).

An MMEngine checkpoint keeps its config as text in ``meta['cfg']``; :func:`parse_config_text`
evaluates its literals with :mod:`ast` and :func:`spec_from_config` picks the architecture
arguments, the input spec and the training facts a hub folder records.
"""
import ast
from typing import Any, Dict, List, Mapping, Tuple

from ...utils.pipelines import FRAME_SAMPLERS
from .model_args import ARCH_ARGS


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


def _find(pipeline: Any, *kinds: str) -> Dict[str, Any]:
    """The first step of ``pipeline`` whose type is one of ``kinds`` (in their order), or {}."""
    steps = [s for s in (pipeline if isinstance(pipeline, list) else []) if isinstance(s, dict)]
    for kind in kinds:
        for step in steps:
            if step.get('type') == kind:
                return step
    return {}


def spec_from_config(cfg: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any], List[str]]:
    """(model_args, pretrained_cfg entries, training notes) from a parsed MMAction2 config.

    Example:
        >>> cfg = parse_config_text(
        ...     "model = dict(backbone=dict(depth=23), cls_head=dict(num_classes=5))\\n"
        ...     "test_pipeline = [dict(type='SampleFrames', clip_len=8, frame_interval=4)]")
        >>> spec_from_config(cfg)
        ({'depth': 23, 'num_classes': 5}, {'num_frames': 8, 'frame_interval': 4}, [])
    """
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
    frames = _find(pipeline, *FRAME_SAMPLERS)
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
