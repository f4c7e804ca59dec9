"""Plots top-1 accuracy against GFLOPs: SmallBig against MMAction2's model zoo.

Figures and their sources:

* MMAction2 models (I3D, SlowOnly, TSM, SlowFast, X3D): the ``comparison`` list of
  ``model_zoo.yml``, copied from the metafiles of the installed mmaction2 wheel
  (``mmaction/.mim/configs/recognition/<folder>/metafile.yml``). The tool checks every
  copied figure against the installed file first and stops on a difference. Costs are
  as the metafiles quote them, per view (mostly at the 224 crop; SlowOnly at 256).
* SmallBig accuracy: reported by the paper (``model_zoo.yml``): the Something-Something
  V2 8 + 16 frame ensemble, and Kinetics-400's best single entry, whose setting (hence
  cost) our sources do not state: it is drawn as a horizontal line.
* SmallBig cost: measured (``complexity.json``, MMEngine count, one view at the 224 crop);
  the Kinetics-400 configs' costs are marked along the bottom of the left panel.

Example:
    python tools/analysis_tools/plot_accuracy_vs_flops.py
    python tools/analysis_tools/plot_accuracy_vs_flops.py --out /tmp/plot.png
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from smallbig_mm.utils.files import atomic_output

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / 'docs' / 'model_zoo'
CROP = '224'
"""The crop of SmallBig's plotted cost (most zoo figures are quoted at 224)."""
K400_PANEL, STH_PANEL = 'Kinetics-400', 'SthV2'
STH_TABLE = 'Something-Something V2'
STYLES = {
    'I3D': ('s', 'tab:blue'),
    'SlowOnly': ('^', 'tab:green'),
    'TSM': ('D', 'tab:purple'),
    'SlowFast': ('v', 'tab:orange'),
    'X3D': ('P', 'tab:brown'),
}
SMALLBIG_COLOR = 'crimson'


def installed_metafile(folder: str) -> Path:
    """``mmaction/.mim/configs/recognition/<folder>`` of the installed mmaction2 wheel."""
    import mmaction

    path = Path(mmaction.__file__).parent / '.mim' / 'configs' / 'recognition' / folder
    if not path.is_file():
        raise FileNotFoundError(
            f'{path} not found: the comparison figures come from the '
            'metafiles of the mmaction2 wheel (pip install mmaction2==1.2.0)'
        )
    return path


def _gflops(value) -> float:
    """A metafile FLOPs entry ('43.5G', 112, 2967543760) in GFLOPs."""
    if isinstance(value, str):
        return float(value.rstrip('G'))
    return float(value) / 1e9 if value > 1e6 else float(value)


def check_comparison(entries: Sequence[dict]) -> List[str]:
    """Differences between ``model_zoo.yml``'s copied figures and the installed metafiles.

    Returns:
        One message per figure that differs or model that is missing (empty: all agree).

    Example:
        >>> check_comparison([])
        []
    """
    problems = []
    cache: Dict[str, Dict[str, dict]] = {}
    for entry in entries:
        if entry['metafile'] not in cache:
            models = yaml.safe_load(installed_metafile(entry['metafile']).read_text())['Models']
            cache[entry['metafile']] = {}
            for model in models:  # the first entry of a name wins (tsm lists r101 twice)
                cache[entry['metafile']].setdefault(model['Name'], model)
        model = cache[entry['metafile']].get(entry['name'])
        if model is None:
            problems.append(f'{entry["name"]}: not in {entry["metafile"]}')
            continue
        result = model['Results'][0] if isinstance(model['Results'], list) else model['Results']
        quoted = {
            'top1': result['Metrics']['Top 1 Accuracy'],
            'gflops': _gflops(model['Metadata']['FLOPs']),
            'dataset': result['Dataset'],
        }
        if (
            abs(quoted['top1'] - entry['top1']) > 1e-6
            or abs(quoted['gflops'] - entry['gflops']) > 1e-6
            or quoted['dataset'] != entry['dataset']
        ):
            problems.append(
                f'{entry["name"]}: model_zoo.yml says {entry["top1"]} / '
                f'{entry["gflops"]}G / {entry["dataset"]}, {entry["metafile"]} '
                f'says {quoted["top1"]} / {quoted["gflops"]}G / {quoted["dataset"]}'
            )
    return problems


def smallbig_costs(folder: Path) -> Dict[str, float]:
    """Config file name -> measured GFLOPs (MMEngine count, one view at the plot's crop)."""
    data = json.loads((folder / 'complexity.json').read_text(encoding='utf-8'))
    return {Path(m['config']).name: m['flops'][CROP] / 1e9 for m in data['models']}


def plot(source: dict, costs: Dict[str, float], out: Path) -> None:
    """Draws the two panels into ``out`` (PNG)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6))
    panels = {K400_PANEL: axes[0], STH_PANEL: axes[1]}
    groups = defaultdict(list)
    for entry in source['comparison']:
        groups[(entry['dataset'], entry['method'])].append(entry)
    for (dataset, method), entries in sorted(groups.items()):
        entries.sort(key=lambda e: e['gflops'])
        marker, color = STYLES.get(method, ('o', 'tab:gray'))
        panels[dataset].plot(
            [e['gflops'] for e in entries],
            [e['top1'] for e in entries],
            marker=marker,
            color=color,
            linestyle=':',
            label=method,
        )

    tables = {t['title']: t for t in source['tables']}
    ax = panels[K400_PANEL]
    best = tables[K400_PANEL]['best_single_top1']
    ax.axhline(
        best,
        color=SMALLBIG_COLOR,
        linestyle='--',
        linewidth=1.2,
        label=f'SmallBig, best single entry: {best} (paper; its setting is not stated)',
    )
    for row in tables[K400_PANEL]['rows']:
        name = row['config']
        if name.startswith('smallbig_'):
            ax.axvline(costs[name], ymax=0.05, color=SMALLBIG_COLOR, linewidth=1.5)
    ax.plot(
        [],
        [],
        color=SMALLBIG_COLOR,
        linewidth=1.5,
        label='SmallBig R50/R101 x 8/16/32 frames (+extra): measured cost, not trained',
    )

    ax = panels[STH_PANEL]
    for ensemble in tables[STH_TABLE].get('ensembles', []):
        cost = sum(costs[m] for m in ensemble['members'])
        ax.plot(
            [cost],
            [ensemble['top1']],
            marker='*',
            markersize=14,
            color=SMALLBIG_COLOR,
            linestyle='none',
            label=f'SmallBig R50 8+16 frames: {ensemble["top1"]} (paper), cost measured',
        )
    for ax, title, ticks in (
        (axes[0], 'Kinetics-400', (3, 10, 30, 100, 300)),
        (axes[1], 'Something-Something V2', (30, 50, 100, 150)),
    ):
        ax.set_xscale('log')
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel('GFLOPs per view (log scale)')
        ax.set_ylabel('top-1 accuracy (%)')
        ax.set_title(title)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=7.5, loc='upper center', bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.suptitle(
        'SmallBig vs MMAction2 model zoo (zoo: metafiles of mmaction2 1.2.0; '
        'SmallBig accuracy: arXiv 2006.14582)',
        fontsize=9,
    )
    fig.tight_layout()
    with atomic_output(out, force=True) as tmp:  # a generated figure of the repository
        fig.savefig(tmp, dpi=110, metadata={'Software': None})
    plt.close(fig)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot top-1 vs GFLOPs: SmallBig vs MMAction2')
    parser.add_argument(
        '--folder', type=Path, default=FOLDER, help='folder with model_zoo.yml and complexity.json'
    )
    parser.add_argument(
        '--out',
        type=Path,
        default=None,
        help='PNG file (default: <folder>/<plot of model_zoo.yml>)',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Checks the copied zoo figures, then writes the PNG."""
    args = parse_args(argv)
    source = yaml.safe_load((args.folder / 'model_zoo.yml').read_text(encoding='utf-8'))
    problems = check_comparison(source['comparison'])
    if problems:
        raise SystemExit(
            'error: model_zoo.yml disagrees with the installed metafiles:\n  '
            + '\n  '.join(problems)
        )
    out = args.out or args.folder / Path(source['plot']).name  # the plot lies beside its sources
    plot(source, smallbig_costs(args.folder), out)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
