"""Reading what an MMEngine config says about a model, from its text (never running it).

An MMEngine checkpoint keeps its config as text in ``meta['cfg']``; :func:`parse_config_text`
evaluates its literals with :mod:`ast`, :func:`args_from_config` picks the architecture
arguments and :func:`metric_types` the evaluators.
"""

import ast
from typing import Any, Dict, List, Mapping

from ..meta_config import as_mapping
from .model_args import ARCH_ARGS


def _literal(node: ast.AST, names: Mapping[str, Any]) -> Any:
    """Evaluates literals, ``dict(...)`` calls and names bound earlier; raises otherwise."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == 'dict'
        and not node.args
    ):
        return {kw.arg: _literal(kw.value, names) for kw in node.keywords if kw.arg}
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):  # `{**other}`: not a literal
            raise ValueError('dict unpacking in a config literal')
        return {
            _literal(k, names): _literal(v, names)
            for k, v in zip(node.keys, node.values)
            if k is not None
        }
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
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            try:
                names[stmt.targets[0].id] = _literal(stmt.value, names)
            except (ValueError, TypeError, SyntaxError, KeyError):
                continue
    return names


def args_from_config(cfg: Mapping[str, Any]) -> Dict[str, Any]:
    """The architecture arguments (timm ``model_args``) a parsed MMAction2 config names.

    The input, classes and provenance are the weights record's
    (:func:`smallbig_mm.weights.meta_config.meta_from_config`).

    Example:
        >>> cfg = parse_config_text(
        ...     "model = dict(backbone=dict(depth=23), cls_head=dict(num_classes=5))")
        >>> args_from_config(cfg)
        {'depth': 23, 'num_classes': 5}
    """
    model = as_mapping(cfg.get('model'))
    backbone = as_mapping(model.get('backbone'))
    args = {k: backbone[k] for k in ARCH_ARGS if k in backbone}
    if 'in_channels' in backbone:
        args['in_chans'] = backbone['in_channels']
    head = as_mapping(model.get('cls_head'))
    if 'num_classes' in head:
        args['num_classes'] = head['num_classes']
    return args


def metric_types(cfg: Mapping[str, Any]) -> List[str]:
    """The ``type`` of each evaluator of ``val_evaluator`` / ``test_evaluator``.

    Example:
        >>> metric_types({'val_evaluator': {'type': 'AccMetric'}})
        ['AccMetric']
    """
    found: List[str] = []
    for key in ('val_evaluator', 'test_evaluator'):
        value = cfg.get(key)
        for item in value if isinstance(value, list) else [value]:
            if (
                isinstance(item, dict)
                and isinstance(item.get('type'), str)
                and item['type'] not in found
            ):
                found.append(item['type'])
    return found
