"""Benchmark SmallBig and its peers: speed (median, spread), MACs/s and peak memory.

Examples:
    # the issue's inference setting, side by side with the reference and MMAction2 models
    smallbig-benchmark smallbig_resnet50 --compare --threads 2 --batch 1
    # a training step, each model in its own process (so that the RSS peak is its own)
    smallbig-benchmark smallbig_resnet50 --compare --mode train --batch 2 --isolate
    # a config's backbone, on a GPU, bf16, compiled
    smallbig-benchmark configs/recognition/smallbig/<config>.py --device cuda \\
        --dtype bf16 --compile

``--json FILE`` is checked before anything is measured: a new file unless ``--force``,
written atomically with the umask's modes. Errors end in one ``error: ...`` line (exit
status 1; 2 for usage), with the traceback under ``--log-level DEBUG``.
"""

import argparse
import logging
from typing import List, Optional

from ..analysis.benchmark import (
    PEERS,
    Settings,
    format_table,
    measure_all,
    measure_isolated,
    write_json,
)
from ..utils.errors import UsageError
from ..utils.files import check_output_path
from ..utils.noise import ignore_noisy_warnings
from .arguments import key_value
from .errors import add_log_level_argument, tool_main
from .numbers import int_range


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='smallbig-benchmark', description=__doc__.splitlines()[0])
    parser.add_argument(
        'models',
        nargs='+',
        help='timm model names (smallbig_resnet50, ...), '
        f'config .py files, or peers: {", ".join(PEERS)}',
    )
    parser.add_argument(
        '--compare', action='store_true', help='also time every peer: ' + ', '.join(PEERS)
    )
    defaults = Settings()
    for name, low, high in (
        ('batch', 1, 4096),
        ('threads', 1, 1024),
        ('warmup', 0, 100000),
        ('repeats', 1, 100000),
    ):
        parser.add_argument(
            f'--{name}',
            type=int_range(low, high),
            default=getattr(defaults, name),
            help=f'(default: {getattr(defaults, name)})',
        )
    parser.add_argument(
        '--frames',
        type=int_range(1, 1024),
        help='frames T per clip (default: what the '
        f"subjects record: a config's test sampler, a hub folder's record; "
        f'else {defaults.frames})',
    )
    parser.add_argument(
        '--size',
        type=int_range(32, 2048),
        help='H = W of each clip (default: the recorded '
        f'test crop, as for --frames; else {defaults.size})',
    )
    parser.add_argument('--dtype', choices=['fp32', 'bf16', 'fp16'], default=defaults.dtype)
    parser.add_argument('--device', default=defaults.device, help='cpu or cuda')
    parser.add_argument('--mode', choices=['eval', 'train'], default=defaults.mode)
    parser.add_argument('--compile', action='store_true', help='torch.compile the models')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='convert every model and input to channels_last_3d',
    )
    parser.add_argument(
        '--isolate',
        action='store_true',
        help='measure each model in a fresh process (comparable CPU memory; '
        'timings one model after the other, not interleaved)',
    )
    parser.add_argument(
        '--model-kwargs',
        nargs='+',
        type=key_value,
        default=[],
        help='backbone overrides for every model, e.g. base_channels=8',
    )
    parser.add_argument(
        '--baseline',
        help='row to compute speed-ups against (default: smallbig_r50_reference with --compare)',
    )
    parser.add_argument(
        '--json', help='also write the results to this JSON file (a new file, unless --force)'
    )
    parser.add_argument('--force', action='store_true', help='let --json replace a file')
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def _record(subject: str):
    """The weights record of a subject that has one: a config file, a hub folder given as
    ``local-dir:FOLDER`` or ``hf-hub:ORG/NAME`` (timm builds those from their config.json)."""
    from ..weights.meta import WEIGHTS_META_KEY, WeightsMeta

    if subject.endswith('.py'):
        import os

        if not os.path.isfile(subject):
            return None  # build_subject names the missing file
        from ..mmaction.config_scope import meta_of_config_file

        return meta_of_config_file(subject)
    if subject.startswith(('local-dir:', 'hf-hub:')):
        from ..weights.sources import source_config

        record = source_config(subject).get(WEIGHTS_META_KEY)
        return WeightsMeta.from_dict(record, subject) if record is not None else None
    return None


def recorded_clip(subjects: List[str], frames: Optional[int], size: Optional[int]):
    """(frames, size): the given ones, else what the subjects record (all alike), else the
    defaults; a given value that differs from a record is reported in one line.

    Raises:
        UsageError: subjects recording different clips, with neither flag given.
    """
    import logging

    from ..weights.meta import report_overrides

    records = {name: meta for name in subjects for meta in [_record(name)] if meta}
    clips = {(m.input.num_frames, m.input.test_crop[0]) for m in records.values()}
    if len(clips) > 1 and (frames is None or size is None):
        raise UsageError(
            'the subjects record different clips ('
            + ', '.join(
                f'{n}: {m.input.num_frames} x {m.input.test_crop[0]}' for n, m in records.items()
            )
            + '): pass --frames and --size'
        )
    recorded = clips.pop() if clips else (None, None)
    chosen = report_overrides(
        ', '.join(records) or 'the subjects',
        {'frames': (frames, recorded[0]), 'size': (size, recorded[1])},
        logging.getLogger(__name__),
    )
    defaults = Settings()
    return chosen['frames'] or defaults.frames, chosen['size'] or defaults.size


def benchmark(args: argparse.Namespace) -> int:
    """Measures, prints the table and writes ``--json``."""
    if args.log_level == 'DEBUG':  # this package's debug lines: which pooling route ran
        package_logger = logging.getLogger('smallbig_mm')
        package_logger.setLevel(logging.DEBUG)
        if not package_logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter('%(levelname)s %(name)s: %(message)s'))
            package_logger.addHandler(handler)
    if args.json:
        check_output_path(args.json, args.force)  # before minutes of measuring
    args.frames, args.size = recorded_clip(args.models, args.frames, args.size)
    settings = Settings(
        batch=args.batch,
        frames=args.frames,
        size=args.size,
        dtype=args.dtype,
        device=args.device,
        threads=args.threads,
        mode=args.mode,
        compile=args.compile,
        channels_last=args.channels_last,
        warmup=args.warmup,
        repeats=args.repeats,
    )
    settings.validate()
    kwargs = dict(args.model_kwargs)
    names = list(args.models) + ([p for p in PEERS if p not in args.models] if args.compare else [])
    if len(set(names)) != len(names):
        raise UsageError(f'each model may be measured once, got {names}')
    if args.baseline is not None and args.baseline not in names:
        raise UsageError(
            f'--baseline {args.baseline} is not among the models measured ({", ".join(names)})'
        )
    if 'pretrained' in kwargs:
        raise UsageError(
            'the benchmark times randomly initialised models: drop pretrained from --model-kwargs'
        )
    if args.isolate:  # one process per model: comparable RSS, timings not interleaved
        results = []
        for name in names:
            print(f'measuring {name} ...', flush=True)
            results.append(measure_isolated(name, settings, dict(kwargs)))
    else:
        print(f'measuring {", ".join(names)}, repeats interleaved ...', flush=True)
        results = measure_all(names, settings, kwargs)
    baseline = args.baseline or ('smallbig_r50_reference' if args.compare else None)
    print(format_table(results, settings, baseline))
    if args.json:
        write_json(args.json, results, settings, force=args.force)
        print(f'wrote {args.json}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the tool; returns the exit status (0 ok, 1 error, 2 usage)."""

    def quiet_benchmark(args: argparse.Namespace) -> int:
        ignore_noisy_warnings(args.log_level)  # the stack's import notices (config models)
        return benchmark(args)

    return tool_main(quiet_benchmark, parse_args, argv)
