"""Checked ``--cfg-options``: unknown keys and wrong types are one line, before any work.

MMEngine's ``merge_from_dict`` adds a misspelt key silently (``train_cfgg.max_epochs=1``
trains 20 epochs) and fails with a traceback on a nested one (``optimizer.lrr`` under a
list) or a value of the wrong type (``batch_size=abc`` fails inside the dataloader).
:func:`check_cfg_options` refuses each with a :class:`~smallbig_mm.utils.errors.UsageError`
naming the key and the closest existing key (``difflib``), or the type the config has.

A key the config does not have is added on purpose with a ``+`` prefix, as in Hydra:
``--cfg-options +model.backbone.with_cp=True``.

Every front end that takes overrides goes through :func:`merge_cfg_options`: the
trainer, the tester, the feature extractor and the demo (their ``--cfg-options``, parsed
by :class:`CfgOptionsAction`), and the Python API's ``cfg_options`` (``from_config``).

Example:
    >>> from mmengine.config import Config
    >>> cfg = Config(dict(train_cfg=dict(max_epochs=20)))
    >>> check_cfg_options(cfg, {'train_cfgg.max_epochs': 1})
    Traceback (most recent call last):
    ...
    smallbig_mm.utils.errors.UsageError: --cfg-options train_cfgg.max_epochs=1: the config has no key train_cfgg (did you mean train_cfg.max_epochs?); to add a new key on purpose, write +train_cfgg.max_epochs=1
    >>> check_cfg_options(cfg, {'+train_cfg.new_key': 1})
    {'train_cfg.new_key': 1}
"""

import argparse
import difflib
from typing import Any, Dict, Iterator, List, Mapping, Optional

from mmengine.config import DictAction

from ..compat.mmengine import config_dict
from ..utils.errors import UsageError

ADD_PREFIX = '+'
"""Marks a ``--cfg-options`` key that the config does not have yet and is added on purpose."""


class CfgOptionsAction(DictAction):
    """MMEngine's ``DictAction`` with a usage error (exit 2) for a malformed ``KEY=VALUE``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for value in values if isinstance(values, list) else [values]:
            if '=' not in value:
                parser.error(f'{option_string}: expected KEY=VALUE, got {value!r}')
        try:
            super().__call__(parser, namespace, values, option_string)
        except (ValueError, SyntaxError) as err:
            parser.error(f'{option_string}: cannot read {" ".join(values)!r}: {err}')


def add_cfg_options_argument(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options KEY=VALUE ...``, checked against the config by :func:`merge_cfg_options`."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config keys, e.g. "train_dataloader.batch_size=4"; a key the config '
        'does not have is refused unless written +KEY=VALUE; lists as key="[a,b]" or '
        'key=a,b; quote nested lists and tuples, e.g. key="[(a,b),(c,d)]"',
    )


def _paths(node: Any, prefix: str = '', depth: int = 0) -> Iterator[str]:
    items = (
        node.items()
        if isinstance(node, Mapping)
        else enumerate(node)
        if isinstance(node, (list, tuple))
        else ()
    )
    for key, value in items:
        path = f'{prefix}.{key}' if prefix else str(key)
        yield path
        if depth < 8:
            yield from _paths(value, path, depth + 1)


RUNNER_KEYS = frozenset(
    {
        'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
        'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
        'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks',
        'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor',
        'log_level', 'visualizer', 'default_scope', 'randomness', 'experiment_name',
        'custom_imports',
    }
)  # fmt: skip
"""Top-level keys that MMEngine's ``Runner.from_cfg`` (and ``Config``) read. Any other
top-level key is a variable of the config file, read by nobody once the file is loaded."""


def copied_into(cfg: Mapping, key: str) -> List[str]:
    """Where the value of the top-level variable ``key`` was copied, if anywhere.

    A config file's variables (``train_pipeline``, ``data_root``) are substituted when the
    file is read; the runner reads the copies (``train_dataloader.dataset.pipeline``), so
    overriding the variable changes nothing. Only lists, sections and non-empty strings
    are matched (a number equal by chance is not a copy). Copies in sections of the
    variable's split (``val`` for ``ann_file_val``) come first.

    Example:
        >>> cfg = dict(train_pipeline=[dict(type='A')],
        ...            train_dataloader=dict(dataset=dict(pipeline=[dict(type='A')])))
        >>> copied_into(cfg, 'train_pipeline')
        ['train_dataloader.dataset.pipeline']
    """
    if key in RUNNER_KEYS or key not in cfg:
        return []
    value = cfg[key]
    if not (isinstance(value, (Mapping, list, tuple)) or (isinstance(value, str) and value)):
        return []
    found = []
    for path in _paths({k: v for k, v in cfg.items() if k in RUNNER_KEYS}):
        node: Any = cfg
        for part in path.split('.'):
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        if isinstance(node, type(value)) and node == value:
            found.append(path)
    words = set(key.split('_'))
    return sorted(found, key=lambda path: path.split('_')[0] not in words)


def closest_key(cfg: Mapping, key: str) -> Optional[str]:
    """The existing key path most like ``key`` (``difflib``), or None."""
    found = difflib.get_close_matches(key, list(_paths(cfg)), n=1, cutoff=0.6)
    return found[0] if found else None


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return 'a section (dict)'
    if isinstance(value, (list, tuple)):
        return 'a list'
    return {bool: 'a bool', int: 'an int', float: 'a number', str: 'a string'}.get(
        type(value), type(value).__name__
    )


def type_problem(existing: Any, value: Any) -> Optional[str]:
    """Why ``value`` cannot replace ``existing``, or None if it can.

    ``None`` on either side, an int for a float, and a list for a list (or tuple) are
    accepted.

    Example:
        >>> type_problem(16, 'abc'), type_problem(0.1, 1), type_problem(None, 'x')
        ('expected an int (the config has 16), got a string', None, None)
    """
    if existing is None or value is None:
        return None
    same = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
    }
    check = same.get(type(existing))
    if isinstance(existing, Mapping):
        check = lambda v: isinstance(v, Mapping)  # noqa: E731
    elif isinstance(existing, (list, tuple)):
        check = lambda v: isinstance(v, (list, tuple))  # noqa: E731
    if check is None or check(value):
        return None
    return f'expected {_kind(existing)} (the config has {existing!r}), got {_kind(value)}'


def check_cfg_options(cfg: Mapping, options: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Checks every ``KEY=VALUE`` against ``cfg``; returns them without ``+`` prefixes.

    Raises:
        UsageError: a key the config does not have (at any depth; not ``+``-prefixed), an
            index past a list's end, a key below a value that is not a section, or a value
            of another type than the config's.
    """
    cfg = config_dict(cfg)
    checked: Dict[str, Any] = {}
    for key, value in (options or {}).items():
        add = key.startswith(ADD_PREFIX)
        path = key[len(ADD_PREFIX) :] if add else key
        shown = (
            f'--cfg-options {key}={value!r}'.replace("='", '=').rstrip("'")
            if isinstance(value, str)
            else f'--cfg-options {key}={value!r}'
        )
        node: Any = cfg
        parts = path.split('.')
        for depth, part in enumerate(parts):
            here = '.'.join(parts[: depth + 1])
            if isinstance(node, Mapping):
                if part in node:
                    node = node[part]
                    continue
                if add:
                    break
                near = closest_key(cfg, path) or closest_key(cfg, here)
                raise UsageError(
                    f'{shown}: the config has no key {here}'
                    + (f' (did you mean {near}?)' if near else '')
                    + f'; to add a new key on purpose, write {ADD_PREFIX}{path}='
                    + (value if isinstance(value, str) else repr(value))
                )
            if isinstance(node, (list, tuple)) and part.isdigit():
                if int(part) >= len(node):
                    raise UsageError(
                        f'{shown}: {".".join(parts[:depth]) or "the config"} is a '
                        f'list of {len(node)} item(s); index {part} is past its end'
                    )
                node = node[int(part)]
                continue
            raise UsageError(
                f'{shown}: {".".join(parts[:depth])} is {_kind(node)} '
                f'({node!r}), not a section: it has no key {part}'
            )
        else:
            copies = [] if add else copied_into(cfg, parts[0])
            if copies:
                rest = path[len(parts[0]) :]
                raise UsageError(
                    f'{shown}: {parts[0]} is a variable of the config file, copied into '
                    f'{" and ".join(copies[:3])}{" ..." if len(copies) > 3 else ""} when '
                    'the file was read; the runner reads only the copies, so this would '
                    f'change nothing: write {copies[0]}{rest}='
                    + (value if isinstance(value, str) else repr(value))
                    + (' (and the same for the other copies)' if len(copies) > 1 else '')
                )
            problem = type_problem(node, value)
            if problem is not None:
                raise UsageError(f'{shown}: {path}: {problem}')
        checked[path] = value
    return checked


def merge_cfg_options(cfg: Any, options: Optional[Dict[str, Any]]) -> None:
    """Merges ``options`` into the MMEngine ``cfg``, checked first (:func:`check_cfg_options`:
    unknown keys and wrong types are usage errors; ``+key=value`` adds a key); a key path
    that cannot be set is a usage error.

    Example:
        >>> from mmengine.config import Config
        >>> cfg = Config(dict(model=dict(depth=50)))
        >>> merge_cfg_options(cfg, {'model.depth': 23, '+model.note': 'x'})
        >>> cfg.model.depth, cfg.model.note
        (23, 'x')
    """
    if not options:
        return
    options = check_cfg_options(cfg, options)
    try:
        cfg.merge_from_dict(options)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise UsageError(
            f'--cfg-options {" ".join(f"{k}={v}" for k, v in options.items())}: '
            f'cannot apply it to the config ({type(err).__name__}: {err}); '
            f'check the key names'
        ) from err
