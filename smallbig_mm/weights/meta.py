"""What a user needs to run a set of weights right: the input, the classes, the provenance.

One record, :class:`WeightsMeta`, travels with the weights in every file the project
writes (training checkpoints' ``meta['weights_meta']``, converter outputs, hub folders'
``config.json``, ONNX ``metadata_props``) and every consumer reads its defaults from it.
It plays the part of torchvision's ``weights.transforms()`` and ``weights.meta``.

Standard library only (no torch), so that any layer can read it.

Example:
    >>> meta = WeightsMeta(InputSpec(mean=(114.,) * 3, std=(57.,) * 3, test_crop=(48, 48)),
    ...                    classes=('a', 'b', 'c'))
    >>> WeightsMeta.from_dict(meta.to_dict()) == meta
    True
    >>> timm_pretrained_cfg(meta)['mean']
    [0.447059, 0.447059, 0.447059]
"""

import json
import logging
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from .errors import CheckpointError

WEIGHTS_META_KEY = 'weights_meta'
"""The key of the record: in a checkpoint's ``meta``, in a hub folder's ``config.json``, in
safetensors and ONNX metadata."""
SAMPLINGS = ('dense', 'uniform')
"""``dense``: ``num_frames`` frames ``frame_interval`` apart (MMAction2's ``SampleFrames``);
``uniform``: one frame from each of ``num_frames`` equal segments of the whole video
(``UniformSample``, TSN-style)."""
CHANNEL_ORDERS = ('RGB', 'BGR')
VALUE_RANGES = (1, 255)
MAX_NAMES = 100_000
MAX_TEXT = 1000


class WeightsMetaError(CheckpointError):
    """A weights record with a wrong type, range or size; the message names the file."""


@dataclass(frozen=True)
class InputSpec:
    """The clips the weights expect.

    Attributes:
        mean, std: per channel, on the ``value_range`` scale: the model sees
            ``(pixel - mean) / std``.
        value_range: 255 for pixels 0-255 (MMAction2), 1 for 0-1 (timm).
        channel_order: ``'RGB'`` or ``'BGR'``, the order of the normalised channels.
        num_frames: frames per clip (T).
        frame_interval: frames between a clip's frames (``dense`` sampling).
        sampling: one of :data:`SAMPLINGS`.
        train_crop: (height, width) of the training clips, or None when unknown.
        test_crop: (height, width) of the test clips.
        resize_short_side: the short side frames are resized to before the test crop, or
            None (no resize).
        test_clips, test_crops: the test views: clips per video x crops per clip.
    """

    mean: Tuple[float, ...] = (123.675, 116.28, 103.53)
    std: Tuple[float, ...] = (58.395, 57.12, 57.375)
    value_range: int = 255
    channel_order: str = 'RGB'
    num_frames: int = 8
    frame_interval: int = 1
    sampling: str = 'dense'
    train_crop: Optional[Tuple[int, int]] = None
    test_crop: Tuple[int, int] = (224, 224)
    resize_short_side: Optional[int] = None
    test_clips: int = 1
    test_crops: int = 1

    def scaled(self, value_range: int) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
        """(mean, std) on another value range (1 or 255), rounded to 6 digits."""
        factor = value_range / self.value_range
        return (
            tuple(round(m * factor, 6) for m in self.mean),
            tuple(round(s * factor, 6) for s in self.std),
        )


@dataclass(frozen=True)
class Provenance:
    """Where the weights come from. Never an absolute path of the machine that wrote them.

    Attributes:
        config: the config's file name (no folder), or None.
        dataset: the training data (the config name's dataset field, else the annotation
            file's name), or None.
        epochs: epochs trained when the weights were written, or None.
        max_epochs: epochs of the schedule, or None.
        date: when the record was written (ISO 8601, UTC), or None.
        package_version: the smallbig-mm version that wrote it.
    """

    config: Optional[str] = None
    dataset: Optional[str] = None
    epochs: Optional[int] = None
    max_epochs: Optional[int] = None
    date: Optional[str] = None
    package_version: Optional[str] = None


@dataclass(frozen=True)
class WeightsMeta:
    """The record: :class:`InputSpec`, class names and :class:`Provenance`."""

    input: InputSpec = field(default_factory=InputSpec)
    classes: Optional[Tuple[str, ...]] = None
    provenance: Provenance = field(default_factory=Provenance)

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON types (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))

    def to_json(self) -> str:
        """One line of JSON (for safetensors and ONNX string metadata)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(',', ':'))

    @classmethod
    def from_dict(cls, data: Any, source: str = 'the weights record') -> 'WeightsMeta':
        """Reads and validates a record; ``source`` names the file in errors.

        Raises:
            WeightsMetaError: a wrong type, range, size or unknown key, in one line.
        """
        data = _mapping(data, source, 'the record')
        _known(data, ('input', 'classes', 'provenance'), source, 'the record')
        spec = _input_spec(_mapping(data.get('input', {}), source, 'input'), source)
        classes = data.get('classes')
        if classes is not None:
            if (
                not isinstance(classes, (list, tuple))
                or not 0 < len(classes) <= MAX_NAMES
                or not all(isinstance(c, str) and len(c) <= MAX_TEXT for c in classes)
            ):
                raise WeightsMetaError(
                    f'{source}: classes must be a list of 1 to {MAX_NAMES} names (strings)'
                )
            classes = tuple(classes)
        return cls(
            spec,
            classes,
            _provenance(_mapping(data.get('provenance', {}), source, 'provenance'), source),
        )

    @classmethod
    def from_json(cls, text: str, source: str = 'the weights record') -> 'WeightsMeta':
        """:meth:`from_dict` of a JSON string."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as err:
            raise WeightsMetaError(f'{source}: the weights record is not JSON ({err})') from None
        return cls.from_dict(data, source)


def _mapping(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WeightsMetaError(f'{source}: {where} must be a mapping, got {type(value).__name__}')
    return value


def _known(data: Mapping[str, Any], names, source: str, where: str) -> None:
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown:
        raise WeightsMetaError(f'{source}: unknown key(s) in {where}: {", ".join(unknown[:5])}')


def _int(value: Any, name: str, source: str, low: int = 1, high: int = 100_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WeightsMetaError(
            f'{source}: input.{name} must be an integer in [{low}, {high}], got {value!r}'
        )
    return value


def _size(value: Any, name: str, source: str) -> Tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise WeightsMetaError(f'{source}: input.{name} must be [height, width], got {value!r}')
    height, width = (_int(v, name, source, 1, 16384) for v in value)
    return height, width


def _floats(value: Any, name: str, source: str, positive: bool) -> Tuple[float, ...]:
    ok = (
        isinstance(value, (list, tuple))
        and len(value) in (1, 3)
        and all(
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
            and (v > 0 if positive else True)
            for v in value
        )
    )
    if not ok:
        raise WeightsMetaError(
            f'{source}: input.{name} must be 1 or 3 finite numbers'
            f'{" > 0" if positive else ""}, got {value!r}'
        )
    return tuple(float(v) for v in value)


def _input_spec(data: Mapping[str, Any], source: str) -> InputSpec:
    _known(data, [f.name for f in fields(InputSpec)], source, 'input')
    spec = dict(asdict(InputSpec()), **data)
    if spec['value_range'] not in VALUE_RANGES or isinstance(spec['value_range'], bool):
        raise WeightsMetaError(
            f'{source}: input.value_range must be 1 or 255, got {spec["value_range"]!r}'
        )
    if spec['channel_order'] not in CHANNEL_ORDERS:
        raise WeightsMetaError(
            f'{source}: input.channel_order must be RGB or BGR, got {spec["channel_order"]!r}'
        )
    if spec['sampling'] not in SAMPLINGS:
        raise WeightsMetaError(
            f'{source}: input.sampling must be one of {SAMPLINGS}, got {spec["sampling"]!r}'
        )
    return InputSpec(
        mean=_floats(spec['mean'], 'mean', source, False),
        std=_floats(spec['std'], 'std', source, True),
        value_range=int(spec['value_range']),
        channel_order=spec['channel_order'],
        num_frames=_int(spec['num_frames'], 'num_frames', source),
        frame_interval=_int(spec['frame_interval'], 'frame_interval', source),
        sampling=spec['sampling'],
        train_crop=None
        if spec['train_crop'] is None
        else _size(spec['train_crop'], 'train_crop', source),
        test_crop=_size(spec['test_crop'], 'test_crop', source),
        resize_short_side=None
        if spec['resize_short_side'] is None
        else _int(spec['resize_short_side'], 'resize_short_side', source, 1, 16384),
        test_clips=_int(spec['test_clips'], 'test_clips', source, 1, 1000),
        test_crops=_int(spec['test_crops'], 'test_crops', source, 1, 100),
    )


def is_local_path(text: str) -> bool:
    """Whether ``text`` looks like a path of the writing machine (absolute, or ``~``).

    Example:
        >>> is_local_path('/home/me/cfg.py'), is_local_path('C:\\\\x'), is_local_path('cfg.py')
        (True, True, False)
    """
    return text.startswith(('/', '~', '\\')) or (
        len(text) > 2 and text[1] == ':' and text[2] in '/\\'
    )


def _provenance(data: Mapping[str, Any], source: str) -> Provenance:
    _known(data, [f.name for f in fields(Provenance)], source, 'provenance')
    values: Dict[str, Any] = {}
    for f in fields(Provenance):
        value = data.get(f.name)
        if value is None:
            continue
        if f.name in ('epochs', 'max_epochs'):
            value = _int(value, f.name, source, 0, 10**7)
        elif (
            not isinstance(value, str)
            or len(value) > MAX_TEXT
            or is_local_path(value)
            or '\n' in value
        ):
            raise WeightsMetaError(
                f'{source}: provenance.{f.name} must be one line of text, '
                f'not a local path, got {value!r:.80}'
            )
        values[f.name] = value
    return Provenance(**values)


def timm_pretrained_cfg(meta: WeightsMeta, num_classes: Optional[int] = None) -> Dict[str, Any]:
    """The timm ``pretrained_cfg`` fields the record implies (per frame, values 0-1).

    ``input_size`` is (3, test crop); ``crop_pct`` is the test crop over the resized short
    side, so that timm's ``resolve_data_config`` and :func:`smallbig_mm.apis.from_timm`
    resize and crop as the test pipeline did.

    Example:
        >>> cfg = timm_pretrained_cfg(WeightsMeta(InputSpec(test_crop=(48, 48),
        ...                                                 resize_short_side=64)))
        >>> cfg['input_size'], cfg['crop_pct']
        ([3, 48, 48], 0.75)
    """
    spec = meta.input
    mean, std = spec.scaled(1)
    short = min(spec.test_crop)
    cfg: Dict[str, Any] = {
        'input_size': [3, spec.test_crop[0], spec.test_crop[1]],
        'mean': list(mean),
        'std': list(std),
        'crop_pct': round(short / spec.resize_short_side, 6) if spec.resize_short_side else 1.0,
        'crop_mode': 'center',
        'interpolation': 'bilinear',
    }
    if num_classes is not None:
        cfg['num_classes'] = int(num_classes)
    return cfg


def report_overrides(
    source: str, settings: Mapping[str, Tuple[Any, Any]], logger: logging.Logger
) -> Dict[str, Any]:
    """Logs, in one line, the explicit settings that differ from the weights' record.

    Args:
        source: the weights, for the message.
        settings: name -> (the user's value or None, the recorded value or None).
        logger: where the line goes (warning level).

    Returns:
        name -> the value to use: the user's where given, else the recorded one.

    Example:
        >>> report_overrides('w.pth', {'size': (64, 48), 'frames': (None, 4)},
        ...                  logging.getLogger('x'))
        {'size': 64, 'frames': 4}
    """
    chosen = {
        name: given if given is not None else recorded
        for name, (given, recorded) in settings.items()
    }
    differ = [
        f'{name} {given} (recorded: {recorded})'
        for name, (given, recorded) in settings.items()
        if given is not None and recorded is not None and given != recorded
    ]
    if differ:
        logger.warning(
            f'{source}: kept as given, though the weights record other values: ' + '; '.join(differ)
        )
    return chosen


def with_overrides(
    meta: WeightsMeta,
    input_values: Optional[Mapping[str, Any]] = None,
    classes: Optional[Any] = None,
    source: str = 'the settings',
) -> WeightsMeta:
    """``meta`` with some input fields and the class names replaced, validated.

    ``mean``/``std`` given without ``value_range`` are on 0-1 when every value is at
    most 1, else on 0-255.

    Example:
        >>> with_overrides(WeightsMeta(), {'mean': [0.5] * 3, 'std': [0.25] * 3}).input.std
        (63.75, 63.75, 63.75)
    """
    values = dict(input_values or {})
    spec = asdict(meta.input)
    if ('mean' in values or 'std' in values) and 'value_range' not in values:
        given = [
            abs(v)
            for key in ('mean', 'std')
            for v in values.get(key, ())
            if isinstance(v, (int, float))
        ]
        scale = 1 if given and max(given) <= 1 else 255
        for key in ('mean', 'std'):
            if key not in values:  # the other one, rescaled to the given one's range
                values[key] = [v * scale / meta.input.value_range for v in spec[key]]
        values['value_range'] = scale
    spec.update(values)
    data = meta.to_dict()
    data['input'] = json.loads(json.dumps(spec))
    if classes is not None:
        data['classes'] = list(classes)
    result = WeightsMeta.from_dict(data, source)
    mean, std = result.input.scaled(255)  # records keep 0-255, as MMAction2 configs do
    return replace(result, input=replace(result.input, mean=mean, std=std, value_range=255))
