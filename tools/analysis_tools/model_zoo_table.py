"""Parameters and FLOPs of model-zoo configs, counted with MMEngine's analysis.

For every config (default: all of ``configs/recognition/smallbig``) it builds the
recognizer and counts one view (1 clip x 1 crop, ``1 x 3 x T x crop x crop``, T from the
config's test sampler) at each crop (default 224 and 256), then writes a Markdown table
and a JSON file. Two figures per crop:

* ``macs``: multiply-accumulates of the convolutions and linear layers, the convention
  of docs/architecture.md and of the paper's "GFLOPs" (``torch.utils.flop_counter`` reports 2x);
* ``flops``: MMEngine's default count (``mmengine.analysis.FlopAnalyzer``), which adds
  about 2 per element for every BatchNorm. This is what MMAction2's
  ``tools/analysis_tools/get_flops.py`` prints and its model-zoo metafiles quote
  (SlowOnly-R50 8x8x1: 54.75G at the 256 crop; the ``slowonly_`` baseline here: the same).

How it stays cheap on a CPU. MMEngine's analyzer traces the model with ``torch.jit`` on
real tensors: tracing on the meta device fails with torch 2.x (the meta convolution's
shape checks get traced tensors), and a real 256 x 256 R101 x 32 frames pass costs
~540 GMACs. For crops that are multiples of 32 every counted operation is either
proportional to the crop's area (each layer's map is ``crop / stride`` wide) or does not
depend on it (the classifier; the extra unit's gate on a globally pooled map), so

    count(H, W) = a * (H * W / 32**2) + b    exactly.

The tool traces real inputs of 32 x 32 and 32 x 64 (the model at full width, so the
figures are the full model's), solves for ``a`` and ``b`` and evaluates the crops. Every
MAC figure is then checked against an independent count at the true size on the meta
device (``smallbig_mm.analysis.complexity.count_macs``, torch's FlopCounterMode); a mismatch
stops the tool. ``--direct`` traces at the true size instead (slow; for verification).

The model is analysed with ``fast_path=False`` (the units as written): the fast path folds
eval-mode BatchNorms into the convolutions, which would hide them from MMEngine's count
without changing the MACs. Checkpoints are not loaded (``pretrained=None``).

Example:
    python tools/analysis_tools/model_zoo_table.py
    python tools/analysis_tools/model_zoo_table.py configs/recognition/smallbig/ablations \\
        --json /tmp/ablations.json --md /tmp/ablations.md
"""

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from smallbig_mm.utils.files import atomic_output
from smallbig_mm.utils.pipelines import FRAME_SAMPLERS as SAMPLERS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIGS = REPO / 'configs' / 'recognition' / 'smallbig'
DEFAULT_JSON = REPO / 'docs' / 'model_zoo' / 'complexity.json'
DEFAULT_MD = REPO / 'docs' / 'complexity.md'

UNIT = 32
"""Crops must be multiples of the network's total stride for the exact extrapolation."""
PROBES: Tuple[Tuple[int, int], Tuple[int, int]] = ((UNIT, UNIT), (UNIT, 2 * UNIT))
"""The two small inputs (H, W) that are actually traced."""
MAC_OPERATORS = frozenset({'conv', 'linear', 'addmm', 'matmul', 'mm', 'bmm', 'einsum'})
"""MMEngine operator names whose counts are multiply-accumulates."""


@dataclass
class Complexity:
    """The figures of one config for one view.

    Attributes:
        config: the config path, relative to the repository when inside it.
        frames: clip length T of one view.
        params: number of parameters of the recognizer (backbone and head).
        macs: crop -> conv + linear multiply-accumulates.
        flops: crop -> MMEngine's default FLOP count (MACs plus norms).
    """

    config: str
    frames: int
    params: int
    macs: Dict[int, int]
    flops: Dict[int, int]


class ClipLogits(nn.Module):
    """One view through a recognizer: clips (N, C, T, H, W) -> class scores (N, classes).

    Runs ``extract_feat`` (backbone and neck) and the head's forward, as MMAction2's
    get_flops.py does, without the data preprocessor.
    """

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.recognizer = recognizer

    def forward(self, clips: Tensor) -> Tensor:
        """Maps (N, C, T, H, W) to the head's scores."""
        feats, _ = self.recognizer.extract_feat(clips.unsqueeze(1))
        return self.recognizer.cls_head(feats)


def find_configs(paths: Iterable[Path]) -> List[Path]:
    """Expands directories into the configs below them (``_base_`` folders excluded).

    Raises:
        SystemExit: for a path that does not exist or a directory without configs.
    """
    found: List[Path] = []
    for path in paths:
        if path.is_dir():
            configs = sorted(p for p in path.rglob('*.py') if '_base_' not in p.parts)
            if not configs:
                raise SystemExit(f'error: no config files (*.py) under {path}')
            found += configs
        elif path.is_file():
            found.append(path)
        else:
            raise SystemExit(f'error: no such config file or directory: {path}')
    return found


def clip_length(cfg) -> int:
    """Clip length T of one view: ``clip_len`` of the test (else val) pipeline's sampler.

    Raises:
        ValueError: if neither pipeline has a frame sampler with ``clip_len``.
    """
    for split in ('test_dataloader', 'val_dataloader'):
        pipeline = cfg.get(split, {}).get('dataset', {}).get('pipeline', [])
        for step in pipeline:
            if step.get('type') in SAMPLERS and 'clip_len' in step:
                return int(step['clip_len'])
    raise ValueError(
        f'{cfg.filename}: no frame sampler ({", ".join(SAMPLERS)}) with clip_len '
        'in test_dataloader or val_dataloader: cannot tell the clip length'
    )


def analysis_model_cfg(cfg):
    """``cfg.model`` without checkpoints, with SmallBig units as written (unfused)."""
    model_cfg = cfg.model.copy()
    backbone = model_cfg.backbone
    backbone.pretrained = None
    backbone.pop('init_cfg', None)
    if backbone.get('type') == 'SmallBigResNet':
        backbone.update(fast_path=False)
    return model_cfg


def trace_counts(model: nn.Module, shape: Sequence[int]) -> Tuple[int, int]:
    """``(macs, flops)`` of one forward of ``model`` on a random input of ``shape``."""
    from mmengine.analysis import FlopAnalyzer

    analyzer = FlopAnalyzer(model, (torch.randn(*shape),))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    by_operator = analyzer.by_operator()
    macs = sum(count for name, count in by_operator.items() if name in MAC_OPERATORS)
    return int(macs), int(sum(by_operator.values()))


def check_crop(crop: int) -> int:
    """Raises ValueError unless ``crop`` is a positive multiple of 32."""
    if crop <= 0 or crop % UNIT:
        raise ValueError(
            f'crop {crop} is not a multiple of {UNIT}: the extrapolation is exact '
            f'only for such crops; use --direct to trace other sizes'
        )
    return crop


def extrapolate(
    model: nn.Module, frames: int, crops: Sequence[int]
) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Counts at the two probe sizes, then solves ``a * area / 32**2 + b`` for each crop."""
    probes = [trace_counts(model, (1, 3, frames, h, w)) for h, w in PROBES]
    macs, flops = {}, {}
    for index, out in ((0, macs), (1, flops)):
        small, large = probes[0][index], probes[1][index]
        per_unit_area = large - small  # 32x64 has one more 32x32 unit of area
        constant = small - per_unit_area
        for crop in crops:
            out[crop] = per_unit_area * (check_crop(crop) // UNIT) ** 2 + constant
    return macs, flops


def measure(config: Path, crops: Sequence[int], direct: bool = False) -> Complexity:
    """Builds ``config``'s recognizer and counts one view at each crop.

    Args:
        config: a recognition config file.
        crops: square crop sizes, multiples of 32 unless ``direct``.
        direct: trace at the true sizes instead of extrapolating (slow).

    Returns:
        The :class:`Complexity` of the config.

    Raises:
        RuntimeError: if a MAC count disagrees with the meta-device count.

    Example:
        >>> row = measure(Path('configs/recognition/smallbig/ablations/'
        ...                    'smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py'), [224])
        >>> row.params, round(row.macs[224] / 1e9, 2)
        (11368400, 26.53)
    """
    from mmaction.registry import MODELS
    from mmengine.analysis import parameter_count
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from smallbig_mm.analysis.complexity import count_macs

    cfg = Config.fromfile(str(config))
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    frames = clip_length(cfg)
    model_cfg = analysis_model_cfg(cfg)
    model = ClipLogits(MODELS.build(model_cfg)).eval()
    params = int(parameter_count(model)[''])
    if direct:
        counts = {crop: trace_counts(model, (1, 3, frames, crop, crop)) for crop in crops}
        macs = {crop: c[0] for crop, c in counts.items()}
        flops = {crop: c[1] for crop, c in counts.items()}
    else:
        macs, flops = extrapolate(model, frames, crops)
    for crop in crops:
        expected = count_macs(
            lambda: ClipLogits(MODELS.build(model_cfg)), (1, 3, frames, crop, crop)
        )
        if macs[crop] != expected:
            raise RuntimeError(
                f'{config}: MMEngine counts {macs[crop]} MACs at {crop}, the '
                f'meta-device count is {expected}: an operation this tool does '
                'not model; rerun with --direct'
            )
    return Complexity(_display_path(config), frames, params, macs, flops)


def _display_path(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def to_json(rows: Sequence[Complexity], crops: Sequence[int]) -> str:
    """The rows as JSON (crops as string keys), with how they were computed."""
    payload = {
        'generated_by': 'tools/analysis_tools/model_zoo_table.py',
        'view': '1 clip x 1 crop: input 1 x 3 x frames x crop x crop',
        'macs': "conv + linear multiply-accumulates (the paper's GFLOPs)",
        'flops': "MMEngine FlopAnalyzer default count (MMAction2's get_flops.py and zoo)",
        'crops': list(crops),
        'models': [asdict(row) for row in rows],
    }
    return json.dumps(payload, indent=1) + '\n'


def to_markdown(rows: Sequence[Complexity], crops: Sequence[int]) -> str:
    """A Markdown table: config, frames, parameters, GMACs and GFLOPs at each crop."""
    head = ['config', 'frames', 'params']
    head += [f'GMACs {c}' for c in crops] + [f'GFLOPs (MMEngine) {c}' for c in crops]
    lines = [
        '# Parameters and FLOPs of the SmallBig configs',
        '',
        'Generated by `python tools/analysis_tools/model_zoo_table.py`: one view (1 clip x '
        '1 crop, `1 x 3 x frames x crop x crop`). GMACs: conv + linear multiply-accumulates, '
        "the convention of the paper. GFLOPs (MMEngine): MMEngine's default "
        "count (MACs plus BatchNorm), what MMAction2's get_flops.py prints and its model zoo "
        'quotes (at the 256 crop). Counted with `mmengine.analysis.FlopAnalyzer` on two small '
        'inputs and extrapolated exactly to the crop, then checked against a meta-device count '
        "at the true size (see the tool's docstring).",
        '',
        '| ' + ' | '.join(head) + ' |',
        '|' + '---|' * len(head),
    ]
    for row in rows:
        cells = [f'`{Path(row.config).name}`', str(row.frames), f'{row.params:,}']
        cells += [f'{row.macs[c] / 1e9:.2f}' for c in crops]
        cells += [f'{row.flops[c] / 1e9:.2f}' for c in crops]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Parameters and FLOPs of recognition configs (MMEngine analysis), '
        'written as Markdown and JSON'
    )
    parser.add_argument(
        'configs',
        nargs='*',
        type=Path,
        default=[DEFAULT_CONFIGS],
        help='config files or directories (default: %(default)s)',
    )
    parser.add_argument(
        '--crops',
        nargs='+',
        type=int,
        default=[224, 256],
        help='square crop sizes (default: 224 256)',
    )
    parser.add_argument('--json', type=Path, default=DEFAULT_JSON, help='JSON output file')
    parser.add_argument('--md', type=Path, default=DEFAULT_MD, help='Markdown output file')
    parser.add_argument(
        '--direct',
        action='store_true',
        help='trace at the true input sizes instead of extrapolating (slow)',
    )
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads (default: torch decides)'
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Counts every config, prints the Markdown table and writes both files."""
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if not args.direct:
        for crop in args.crops:
            try:
                check_crop(crop)
            except ValueError as err:
                raise SystemExit(f'error: {err}') from None
    import smallbig_mm.mmaction  # noqa: F401  (stack fixes and registration)

    rows = []
    for config in find_configs(args.configs):
        print(f'counting {_display_path(config)}', file=sys.stderr)
        rows.append(measure(config, args.crops, args.direct))
    markdown = to_markdown(rows, args.crops)
    for path, text in ((args.json, to_json(rows, args.crops)), (args.md, markdown)):
        with atomic_output(path, force=True) as tmp:  # generated tables, regenerated
            Path(tmp).write_text(text, encoding='utf-8')
    print(markdown)
    print(f'wrote {args.json} and {args.md}', file=sys.stderr)


if __name__ == '__main__':
    main()
