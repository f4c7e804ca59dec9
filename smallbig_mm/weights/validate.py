"""Checks of the metadata that travels with weights, before anything is built from it.

A hub folder's ``config.json`` (:func:`read_hub_config`, :func:`validate_hub_config`) and a
checkpoint's ``meta`` dict (:func:`validate_checkpoint_meta`) come from whoever made the
file. Their values become constructor arguments, tensor sizes and file names, so they are
checked first: types, ranges, sizes and nesting depth. A file of a hostile size
(``num_classes=10**12``, ``base_channels=10**9``, a 1 GB ``config.json``, 10,000 nested
lists) is a one-line :class:`MetadataError` naming the file and the key, never a
``MemoryError``, a ``RecursionError`` or a long traceback. Keys that would make timm read
another file (``checkpoint_path``, or a ``file``, ``url`` or ``hf_hub_id`` in
``pretrained_cfg``) are refused: the weights of a hub folder are the folder's own.

Unknown keys of ``pretrained_cfg``, ``video_input`` and the top level are allowed (they
describe the weights and are shown, not built from), within the same size and depth
bounds; unknown ``model_args`` are refused, since each one is passed to the constructor.
"""

import json
import math
import os
from typing import Any, Callable, Dict, Mapping, Optional

from .errors import CheckpointError

ARCHITECTURES = (
    'smallbig_resnet23',
    'smallbig_resnet50',
    'smallbig_resnet101',
    'smallbig_resnet50_extra',
    'smallbig_c2d_resnet50',
    'smallbig_3d_resnet50',
)
"""The timm names this package registers (a hub folder's ``architecture``)."""
MAX_CONFIG_BYTES = 1 << 20
"""Largest ``config.json`` read (1 MiB; the converter writes about 2 KB)."""
MAX_DEPTH = 16
"""Deepest nesting of lists and dicts in ``config.json`` and a checkpoint's ``meta``."""
MAX_STRING = 1 << 20
"""Longest string (1 MiB: ``meta['cfg']`` holds a whole config's text)."""
MAX_ITEMS = 1_000_000
"""Most list items and dict entries in one file's metadata, all levels together."""
MAX_CLASSES = 1_000_000
MAX_SIDE = 4096
"""Largest input height or width (pixels)."""
FILE_KEYS = (
    'checkpoint_path',
    'file',
    'url',
    'hf_hub_id',
    'hf_hub_filename',
    'state_dict',
    'pretrained_cfg_overlay',
)
"""Keys that make timm read weights from elsewhere: refused in ``model_args``, at the top
level and, but for the folder's or repository's own location, in ``pretrained_cfg``."""
LOADING_KEYS = FILE_KEYS + ('pretrained', 'pretrained_cfg', 'cache_dir')
""":data:`FILE_KEYS` and the other ``timm.create_model`` loading arguments: never
``model_args``."""
_BLOCK_TYPES = ('2d', '3d', 'smallbig')


class MetadataError(CheckpointError):
    """A ``config.json`` or checkpoint ``meta`` value of the wrong type, size or range.

    The message names the file, the key and the allowed values, in one line.
    """


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (
        (_is_int(value) or isinstance(value, float)) and math.isfinite(value) and abs(value) < 1e12
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def check_structure(value: Any, where: str) -> None:
    """Refuses nesting deeper than :data:`MAX_DEPTH`, long strings and too many items.

    Args:
        value: parsed JSON or a checkpoint's ``meta`` (dicts, lists, tuples, scalars).
        where: the file (and key) for messages.

    Raises:
        MetadataError: one line naming ``where``.

    Example:
        >>> check_structure({'a': [1, 2, {'b': 'c'}]}, 'config.json')
        >>> check_structure([[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]], 'config.json')
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.validate.MetadataError: config.json: nested deeper than 16 levels
    """
    items = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MetadataError(f'{where}: nested deeper than {MAX_DEPTH} levels')
        if isinstance(node, str) and len(node) > MAX_STRING:
            raise MetadataError(
                f'{where}: a string of {len(node):,} characters (at most {MAX_STRING:,})'
            )
        if isinstance(node, Mapping):
            items += len(node)
            stack.extend((k, depth + 1) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple)):
            items += len(node)
            stack.extend((v, depth + 1) for v in node)
        if items > MAX_ITEMS:
            raise MetadataError(f'{where}: more than {MAX_ITEMS:,} entries')


def _points_elsewhere(where: str, key: str, value: Any) -> MetadataError:
    return MetadataError(
        f'{where}: {key!r} would make timm read weights from elsewhere '
        f'({_short(value)}); a hub folder holds its own weights: remove it'
    )


def _int_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: _is_int(v) and low <= v <= high


def _bools(count: int) -> Callable[[Any], bool]:
    return lambda v: (
        isinstance(v, (list, tuple)) and len(v) == count and all(isinstance(b, bool) for b in v)
    )


def _block_types(value: Any) -> bool:
    def stage(spec: Any) -> bool:
        return spec in _BLOCK_TYPES or (
            isinstance(spec, (list, tuple))
            and 0 < len(spec) <= 64
            and all(t in _BLOCK_TYPES for t in spec)
        )

    return isinstance(value, (list, tuple)) and len(value) == 4 and all(map(stage, value))


def _big_kernels(value: Any) -> bool:
    def kernel(k: Any) -> bool:
        return (
            isinstance(k, (list, tuple))
            and len(k) == 3
            and all(s is None or (_is_int(s) and 1 <= s <= 64) for s in k)
        )

    return isinstance(value, (list, tuple)) and len(value) == 3 and all(map(kernel, value))


def _input_size(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and _int_in(1, 16)(value[0])
        and all(_int_in(1, MAX_SIDE)(s) for s in value[1:])
    )


def _three_floats(positive: bool) -> Callable[[Any], bool]:
    return lambda v: (
        isinstance(v, (list, tuple))
        and len(v) == 3
        and all(_is_number(x) and (x > 0 if positive else True) for x in v)
    )


MODEL_ARGS: Dict[str, tuple] = {
    'depth': (lambda v: v in (23, 50, 101) and _is_int(v), '23, 50 or 101'),
    'base_channels': (_int_in(4, 512), 'an int in [4, 512]'),
    'in_chans': (_int_in(1, 16), 'an int in [1, 16]'),
    'num_classes': (_int_in(0, MAX_CLASSES), f'an int in [0, {MAX_CLASSES:,}]'),
    'num_frames': (_int_in(1, 1024), 'an int in [1, 1024]'),
    'block_types': (_block_types, "4 stages of '2d', '3d', 'smallbig' or a list of them"),
    'extra_stages': (_bools(4), '4 booleans'),
    'big_views': (_bools(3), '3 booleans'),
    'big_kernels': (_big_kernels, '3 kernels of 3 ints in [1, 64] or null'),
    'shared_big_weights': (lambda v: isinstance(v, bool), 'a boolean'),
    'zero_init_residual': (lambda v: isinstance(v, bool), 'a boolean'),
    'fast_path': (lambda v: isinstance(v, bool), 'a boolean'),
    'global_pool': (lambda v: v in ('', 'avg', 'max'), "'', 'avg' or 'max'"),
    'drop_rate': (lambda v: _is_number(v) and 0 <= v < 1, 'a number in [0, 1)'),
    'drop_path_rate': (lambda v: _is_number(v) and 0 <= v < 1, 'a number in [0, 1)'),
}
"""``model_args`` a hub folder may set: key -> (check, what is allowed)."""

PRETRAINED_CFG: Dict[str, tuple] = {
    'input_size': (_input_size, f'[channels 1-16, height, width 1-{MAX_SIDE}]'),
    'test_input_size': (_input_size, f'[channels 1-16, height, width 1-{MAX_SIDE}]'),
    'mean': (_three_floats(False), '3 finite numbers'),
    'std': (_three_floats(True), '3 finite positive numbers'),
    'num_classes': (_int_in(0, MAX_CLASSES), f'an int in [0, {MAX_CLASSES:,}]'),
    'crop_pct': (lambda v: _is_number(v) and 0 < v <= 2, 'a number in (0, 2]'),
    'num_frames': (_int_in(1, 1024), 'an int in [1, 1024]'),
    'frame_interval': (_int_in(1, 1024), 'an int in [1, 1024]'),
    'test_num_clips': (_int_in(1, 1024), 'an int in [1, 1024]'),
    'resize_short_side': (_int_in(1, MAX_SIDE), f'an int in [1, {MAX_SIDE}]'),
    'label_names': (
        lambda v: (
            isinstance(v, (list, tuple))
            and len(v) <= MAX_CLASSES
            and all(isinstance(n, str) and len(n) <= 1024 for n in v)
        ),
        'a list of class names',
    ),
}
"""Input entries of ``pretrained_cfg`` and ``video_input``: key -> (check, what is allowed)."""


def _check_entries(
    values: Mapping[str, Any], rules: Mapping[str, tuple], where: str, known_only: bool
) -> None:
    for key, value in values.items():
        if not isinstance(key, str) or len(key) > 256:
            raise MetadataError(f'{where}: a key that is not a short string ({_short(key)})')
        rule = rules.get(key)
        if rule is None:
            if known_only:
                raise MetadataError(
                    f'{where}: {key!r} is not a model argument (known: {", ".join(sorted(rules))})'
                )
            continue
        check, allowed = rule
        if not check(value):
            raise MetadataError(f'{where}: {key}={_short(value)}: must be {allowed}')


def validate_model_args(args: Mapping[str, Any], where: str) -> None:
    """Checks ``model_args`` (timm constructor arguments) before a model is built from them.

    Args:
        args: the arguments (``depth``, ``base_channels``, ``block_types``, ...).
        where: the file (and key) for messages, e.g. ``'hub/config.json: model_args'``.

    Raises:
        MetadataError: an unknown key, a key that makes timm read another file, or a value
            of the wrong type or out of range (one line).

    Example:
        >>> validate_model_args({'depth': 50, 'base_channels': 16}, 'config.json')
        >>> validate_model_args({'base_channels': 10 ** 9},
        ...                     'config.json: model_args')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.validate.MetadataError: config.json: model_args: base_channels=10000...
    """
    if not isinstance(args, Mapping):
        raise MetadataError(f'{where}: not an object ({type(args).__name__})')
    for key in LOADING_KEYS:
        if key in args:
            raise _points_elsewhere(where, key, args[key])
    _check_entries(args, MODEL_ARGS, where, known_only=True)


def validate_pretrained_cfg(
    cfg: Mapping[str, Any], where: str, own_location: Optional[Mapping[str, str]] = None
) -> None:
    """Checks a ``pretrained_cfg`` (or ``video_input``): input entries typed and bounded,
    no key that points timm at other weights.

    Args:
        cfg: the entries.
        where: the file (and key) for messages.
        own_location: entries timm itself sets to the folder or repository being read
            (``{'file': folder}`` for ``local-dir:``, ``{'hf_hub_id': id}`` for ``hf-hub:``);
            any other value of a :data:`FILE_KEYS` key is refused.

    Raises:
        MetadataError: one line naming ``where`` and the key.

    Example:
        >>> validate_pretrained_cfg({'url': 'https://example.org/w.pth'},
        ...                         'config.json: pretrained_cfg')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.validate.MetadataError: config.json: pretrained_cfg: 'url' would ...
    """
    if not isinstance(cfg, Mapping):
        raise MetadataError(f'{where}: not an object ({type(cfg).__name__})')
    own = dict(own_location or {})
    for key in FILE_KEYS:
        if cfg.get(key) not in (None, '', own.get(key)):
            raise _points_elsewhere(where, key, cfg[key])
    _check_entries(cfg, PRETRAINED_CFG, where, known_only=False)


def validate_hub_config(config: Any, path: str) -> Dict[str, Any]:
    """Checks a parsed hub folder ``config.json`` (see the module docstring).

    Args:
        config: the parsed JSON.
        path: the file, for messages.

    Returns:
        ``config``, checked.

    Raises:
        MetadataError: one line naming ``path`` and the key.

    Example:
        >>> validate_hub_config({'architecture': 'resnet50'},
        ...                     'hub/config.json')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.validate.MetadataError: hub/config.json: architecture='resnet50': ...
    """
    if not isinstance(config, dict):
        raise MetadataError(f'{path}: not a JSON object ({type(config).__name__})')
    check_structure(config, path)
    architecture = config.get('architecture')
    if architecture is not None and architecture not in ARCHITECTURES:
        raise MetadataError(
            f'{path}: architecture={_short(architecture)}: not a SmallBig '
            f'model ({", ".join(ARCHITECTURES)})'
        )
    validate_model_args(config.get('model_args', {}), f'{path}: model_args')
    for key in ('num_classes', 'num_features'):
        if key in config and not _int_in(0, MAX_CLASSES if key == 'num_classes' else 1 << 16)(
            config[key]
        ):
            raise MetadataError(
                f'{path}: {key}={_short(config[key])}: must be a small non-negative int'
            )
    for key in ('pretrained_cfg', 'video_input'):
        if key in config:
            validate_pretrained_cfg(config[key], f'{path}: {key}')
    for key in FILE_KEYS:
        if key in config:
            raise _points_elsewhere(path, key, config[key])
    return config


def read_hub_config(path: str) -> Dict[str, Any]:
    """Reads and checks a hub folder's ``config.json``: at most :data:`MAX_CONFIG_BYTES`,
    JSON, then :func:`validate_hub_config`.

    Raises:
        MetadataError: too large, not JSON (NaN and Infinity included), too deep, or a
            value :func:`validate_hub_config` refuses (one line naming ``path``).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'config.json')
        >>> _ = open(path, 'w').write('{"architecture": "smallbig_resnet23"}')
        >>> read_hub_config(path)
        {'architecture': 'smallbig_resnet23'}
    """
    size = os.path.getsize(path)
    if size > MAX_CONFIG_BYTES:
        raise MetadataError(
            f'{path}: {size:,} bytes; a hub folder config.json is a few KB '
            f'(at most {MAX_CONFIG_BYTES:,} bytes are read)'
        )

    def refuse_constant(name: str) -> None:
        raise ValueError(f'{name} is not JSON')

    try:
        with open(path, encoding='utf-8') as f:
            config = json.loads(f.read(), parse_constant=refuse_constant)
    except RecursionError:
        raise MetadataError(f'{path}: nested deeper than {MAX_DEPTH} levels') from None
    except (ValueError, UnicodeDecodeError) as err:
        raise MetadataError(
            f'{path}: not a hub folder config.json ({err}); write the folder '
            'again with smallbig-convert --to hf'
        ) from None
    return validate_hub_config(config, path)


META_RULES: Dict[str, tuple] = {
    'epoch': (_int_in(0, 10**9), 'an int in [0, 10**9]'),
    'iter': (_int_in(0, 10**12), 'an int in [0, 10**12]'),
    'cfg': (lambda v: isinstance(v, str), 'the config text (a string)'),
    'experiment_name': (
        lambda v: isinstance(v, str) and len(v) <= 1024,
        'a string of at most 1024 characters',
    ),
    'dataset_meta': (lambda v: v is None or isinstance(v, Mapping), 'a dict'),
}
"""Entries of an MMEngine checkpoint's ``meta`` the project reads: key -> (check, allowed)."""


def validate_checkpoint_meta(meta: Any, path: str) -> None:
    """Checks the ``meta`` dict of a checkpoint file (MMEngine's, or the converter's).

    Args:
        meta: ``checkpoint['meta']``.
        path: the file, for messages.

    Raises:
        MetadataError: ``meta`` not a dict, too deep or large, or an entry the project reads
            (:data:`META_RULES`) of the wrong type or range (one line naming ``path``).

    Example:
        >>> validate_checkpoint_meta({'epoch': 3, 'cfg': 'model = dict()'}, 'epoch_3.pth')
        >>> validate_checkpoint_meta({'epoch': -1}, 'epoch_3.pth')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        smallbig_mm.weights.validate.MetadataError: epoch_3.pth: meta: epoch=-1: must be ...
    """
    if not isinstance(meta, Mapping):
        raise MetadataError(f'{path}: meta is a {type(meta).__name__}, not a dict')
    check_structure(meta, f'{path}: meta')
    _check_entries(meta, META_RULES, f'{path}: meta', known_only=False)
