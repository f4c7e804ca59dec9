"""Times the big views' pooling on the native and the pure-PyTorch route (issue 22).

One training-path step per big view, as :mod:`smallbig_mm.models.fastpath.training` runs
it: the forward pooling, then in the backward pass the pooling again and the gradient
(:func:`~smallbig_mm.models.fastpath.pooling.pool_and_gradient`). Both routes on the
same maps, repeats interleaved; each figure is the minimum over repeats of the wall time
and of the process's CPU time (``time.process_time``). With one thread the CPU time is
the figure to read on a shared machine: neighbours stretch wall time, not CPU time.

    python tools/analysis_tools/benchmark_pooling_routes.py --json docs/benchmarks/pooling_routes.json
"""

import argparse
import json
import os
import time
from typing import List, Optional

import torch

from smallbig_mm.analysis.benchmark import Settings, environment
from smallbig_mm.cli.arguments import positive
from smallbig_mm.cli.errors import add_log_level_argument, tool_main
from smallbig_mm.models.fastpath.pooling import pool_and_gradient, separable_max_pool
from smallbig_mm.ops.bigview_pool import NATIVE_LOADED
from smallbig_mm.utils.errors import UsageError
from smallbig_mm.utils.files import atomic_output, check_output_path

# SmallBig-R50's big views at batch 2, 8x224x224: the conv1 view of res2, the conv2 view
# of res3, the conv3 (global temporal) view of res4
CASES = [
    ((2, 64, 8, 56, 56), (3, 3, 3)),
    ((2, 128, 8, 28, 28), (1, 3, 3)),
    ((2, 1024, 8, 14, 14), (None, 3, 3)),
]
ROUTES = {'native': '1', 'pure': '0'}


def training_step(x: torch.Tensor, kernel, grad: torch.Tensor) -> None:
    """The forward pooling, then the backward pass's pooling and gradient."""
    separable_max_pool(x, kernel)
    pool_and_gradient(x, kernel, grad)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dtypes', nargs='+', choices=['fp32', 'bf16'], default=['fp32', 'bf16'])
    parser.add_argument('--repeats', type=positive, default=5)
    parser.add_argument('--threads', type=positive, default=1)
    parser.add_argument('--json', help='write the results here')
    parser.add_argument('--force', action='store_true', help='overwrite --json')
    add_log_level_argument(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    if not NATIVE_LOADED:
        raise UsageError('smallbig_mm._native is not built (python setup.py build_ext --inplace)')
    if args.json:
        check_output_path(args.json, args.force)
    torch.set_num_threads(args.threads)
    saved = os.environ.get('SMALLBIG_MM_NATIVE')
    rows = []
    try:
        for dtype in args.dtypes:
            for shape, kernel in CASES:
                x = torch.randn(shape).to({'fp32': torch.float32, 'bf16': torch.bfloat16}[dtype])
                grad = torch.randn_like(separable_max_pool(x, kernel))
                times = {route: ([], []) for route in ROUTES}
                for repeat in range(args.repeats + 1):  # the first is a warm-up
                    for route, flag in ROUTES.items():
                        os.environ['SMALLBIG_MM_NATIVE'] = flag
                        wall, cpu = time.perf_counter(), time.process_time()
                        training_step(x, kernel, grad)
                        if repeat:
                            times[route][0].append(time.perf_counter() - wall)
                            times[route][1].append(time.process_time() - cpu)
                row = dict(shape=list(shape), kernel=list(kernel), dtype=dtype)
                for route, (wall, cpu) in times.items():
                    row[f'{route}_wall_ms'] = 1e3 * min(wall)
                    row[f'{route}_cpu_ms'] = 1e3 * min(cpu)
                rows.append(row)
                print(
                    f'{dtype} {shape} {kernel}: CPU ms native {row["native_cpu_ms"]:.1f}, '
                    f'pure {row["pure_cpu_ms"]:.1f}; wall ms native '
                    f'{row["native_wall_ms"]:.1f}, pure {row["pure_wall_ms"]:.1f}',
                    flush=True,
                )
    finally:
        if saved is None:
            os.environ.pop('SMALLBIG_MM_NATIVE', None)
        else:
            os.environ['SMALLBIG_MM_NATIVE'] = saved
    if args.json:
        env = environment(Settings(threads=args.threads))
        env.pop('pooling_route')  # both routes ran
        with (
            atomic_output(args.json, force=args.force) as tmp,
            open(tmp, 'w', encoding='utf-8') as f,
        ):
            json.dump(dict(environment=env, repeats=args.repeats, results=rows), f, indent=2)
        print(f'wrote {args.json}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return tool_main(run, parse_args, argv)


if __name__ == '__main__':
    raise SystemExit(main())
