"""The architecture arguments (timm's ``model_args``) of a SmallBig-ResNet state dict.

:func:`infer_model_args` reads them from the weights' keys and shapes,
:func:`architecture_name` picks the registered timm name, :func:`check_rebuilds` proves that
the arguments rebuild the weights' network (after :func:`~..validate.validate_model_args`
checked their types and ranges), :func:`check_buildable` that some network takes the
weights at all, and :func:`count_gmacs` counts its cost.
"""

import json
import re
from typing import Any, Dict, List, Mapping, Optional

from torch import Tensor

from ...models.units import DEFAULT_BIG_KERNELS
from ..errors import CheckpointError
from ..layouts import CLASSIFIER_KEYS, depth_of
from ..validate import validate_model_args

ARCH_ARGS = (
    'depth',
    'block_types',
    'extra_stages',
    'big_views',
    'big_kernels',
    'shared_big_weights',
    'base_channels',
    'in_chans',
)
"""The ``model_args`` that fix the network's weights (besides ``num_classes``)."""


def jsonable(value: Any) -> Any:
    """``value`` with its tuples turned into lists (as JSON reads them back), recursively.

    Example:
        >>> jsonable({'big_kernels': ((3, 3, 3), (None, 3, 3))})
        {'big_kernels': [[3, 3, 3], [None, 3, 3]]}
    """
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def _stage_types(state: Mapping[str, Tensor], stage: int, blocks: int) -> Any:
    """The stage's block type (``'2d'``, ``'3d'``, ``'smallbig'``), or one per block."""
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
        raise CheckpointError(
            'cannot tell the depth from the keys (blocks per stage match no '
            'known depth): give it with --model-arg depth=N'
        )
    counts = [
        1 + max(int(k.split('.')[1]) for k in state if k.startswith(f'layer{s + 1}.'))
        for s in range(4)
    ]
    conv1 = state['conv1.weight']
    big = [k for k in state if re.search(r'\.big[123]\.', k)]
    return {
        'depth': depth,
        'block_types': [_stage_types(state, s, n) for s, n in enumerate(counts)],
        'extra_stages': [
            any(k.startswith(f'layer{s + 1}.') and '.extra.' in k for k in state) for s in range(4)
        ],
        'big_views': [any(f'.big{i}.' in k for k in big) for i in (1, 2, 3)]
        if big
        else [True, True, True],
        'big_kernels': jsonable(DEFAULT_BIG_KERNELS),
        'shared_big_weights': not any(re.search(r'\.big[123]\.conv\.', k) for k in big),
        'base_channels': int(conv1.shape[0]),
        'in_chans': int(conv1.shape[1]),
    }


def architecture_name(args: Mapping[str, Any]) -> str:
    """The registered timm name closest to ``args`` (``model_args`` fix the rest).

    Example:
        >>> architecture_name({'depth': 50, 'block_types': ['2d'] * 4})
        'smallbig_c2d_resnet50'
    """
    types = args.get('block_types')
    if types == ['2d'] * 4:
        return 'smallbig_c2d_resnet50'
    if types == ['2d', '2d', '3d', '3d']:
        return 'smallbig_3d_resnet50'
    if args.get('depth') == 50 and args.get('extra_stages') == [False, True, True, True]:
        return 'smallbig_resnet50_extra'
    return f'smallbig_resnet{args.get("depth", 50)}'


def _core_args(args: Mapping[str, Any]) -> Dict[str, Any]:
    """The :class:`~smallbig_mm.models.SmallBigResNet` keyword arguments among ``args``."""
    return {k: v for k, v in args.items() if k in ARCH_ARGS and k != 'in_chans'}


def count_gmacs(
    args: Mapping[str, Any], num_classes: int, input_size: List[int], frames: int
) -> Optional[float]:
    """Multiply-accumulates (x 1e9) of one clip ``(1, C, frames, H, W)`` through the network
    ``args`` build and a ``num_classes`` classifier; None where the input does not fit."""
    from ...models import SmallBigResNet
    from ...models.complexity import count_macs

    core = _core_args(args)
    try:
        macs = count_macs(
            lambda: SmallBigResNet(in_channels=args.get('in_chans', 3), **core),
            (1, input_size[0], frames, input_size[1], input_size[2]),
        )
    except Exception:  # an unusual input size the network cannot take: leave it out
        return None
    width = args['base_channels'] * 32
    return (macs + width * num_classes) / 1e9


def check_rebuilds(state: Mapping[str, Tensor], args: Mapping[str, Any], src: str) -> None:
    """Builds the core network from ``args`` and loads ``state`` strictly (no classifier).

    ``args`` are validated first (:func:`~..validate.validate_model_args`): a hostile
    ``base_channels`` or ``depth`` is refused before anything is allocated.

    Raises:
        MetadataError: an unknown argument, or one of the wrong type or range (one line
            naming ``src``).
        CheckpointError: one line naming ``src``, the arguments and the first difference.
    """
    from ...models import SmallBigResNet
    from ..loading import check_finite
    from ..pipeline import load_weights

    validate_model_args(args, f'{src}: model_args')
    check_finite(state, src)  # not a model_args mistake: no --model-arg fixes it
    core = _core_args(args)
    try:
        model = SmallBigResNet(in_channels=args.get('in_chans', 3), **core)
        load_weights(model, {k: v for k, v in state.items() if k not in CLASSIFIER_KEYS})
    except (CheckpointError, ValueError, TypeError) as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f'{src}: the model_args {json.dumps(jsonable(core))} do not '
            f'rebuild the network of the weights ({first}); fix them with '
            '--model-arg KEY=VALUE'
        ) from None


def check_buildable(state: Mapping[str, Tensor], src: str) -> Dict[str, Any]:
    """Proves that a SmallBig-ResNet takes ``state`` (timm layout): the arguments its
    shapes imply (:func:`infer_model_args`) build a network that loads it strictly, and a
    classifier ``fc`` fits that network's features.

    Args:
        state: a timm-layout state dict (``fc.*`` optional).
        src: the file, for messages.

    Returns:
        The arguments (:func:`infer_model_args`, plus ``num_classes``: 0 without ``fc``).

    Raises:
        CheckpointError: one line naming ``src``: no depth, width or block structure can be
            read from the keys, a size out of range, or a tensor no network of those
            arguments has.

    Example:
        >>> from smallbig_mm.models import SmallBigResNet
        >>> check_buildable(SmallBigResNet(depth=23, base_channels=8).state_dict(),
        ...                 'w.pth')['num_classes']
        0
    """
    try:
        args = infer_model_args(state)
    except (KeyError, IndexError, ValueError, AttributeError) as err:
        if isinstance(err, CheckpointError):
            raise CheckpointError(f'{src}: {err}') from None
        raise CheckpointError(
            f'{src}: no SmallBig-ResNet can be built from these weights '
            f'(cannot read its architecture from the keys and shapes: '
            f'{type(err).__name__}: {err})'
        ) from None
    check_rebuilds(state, args, src)
    fc_weight, fc_bias = state.get('fc.weight'), state.get('fc.bias')
    width = args['base_channels'] * 32
    if fc_weight is None and fc_bias is None:
        return dict(args, num_classes=0)
    if (
        fc_weight is None
        or fc_bias is None
        or fc_weight.dim() != 2
        or fc_weight.shape[1] != width
        or tuple(fc_bias.shape) != (fc_weight.shape[0],)
    ):
        shapes = {
            k: tuple(v.shape)
            for k, v in (('fc.weight', fc_weight), ('fc.bias', fc_bias))
            if v is not None
        }
        raise CheckpointError(
            f'{src}: no SmallBig-ResNet can be built from these weights: '
            f"its classifier {shapes} does not fit the network's {width} "
            f'features (expected fc.weight (classes, {width}) and fc.bias '
            '(classes,))'
        )
    return dict(args, num_classes=int(fc_weight.shape[0]))
