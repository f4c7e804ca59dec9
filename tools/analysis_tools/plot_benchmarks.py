"""Plots benchmark results: MACs per second per model, and peak memory of training steps.

Reads the JSON files that ``tools/benchmark.py --json`` writes (one per setting: eval
at batch 1, eval at batch 8, training...) and draws one panel of GMAC/s per file (how
well each model uses the machine; bars labelled with clips/s and the speed-up over the
straightforward SmallBig when that row is present), plus one panel of peak memory for
every training file. Figures come only from the files: nothing is measured here.

Example:
    python tools/analysis_tools/plot_benchmarks.py docs/benchmarks/*.json \\
        --out docs/benchmarks.png
"""

import argparse
import json
from pathlib import Path
from typing import List, Sequence

from smallbig_mm.utils.files import atomic_output

REFERENCE = 'smallbig_r50_reference'


def load(paths: Sequence[str]) -> List[dict]:
    """The benchmark files, each with ``settings`` and ``results``; clear errors otherwise."""
    runs = []
    for path in paths:
        try:
            run = json.loads(Path(path).read_text(encoding='utf-8'))
        except (OSError, ValueError) as error:
            raise SystemExit(f'error: cannot read benchmark file {path}: {error}') from None
        if not isinstance(run, dict) or not {'settings', 'results'} <= run.keys():
            raise SystemExit(
                f'error: {path} is not a tools/benchmark.py --json file (no settings/results)'
            )
        if not run['results']:
            raise SystemExit(f'error: {path} has no results to plot')
        runs.append(run)
    return runs


def title(settings: dict) -> str:
    """``eval, batch 1, 8x224x224, fp32, cpu, 2 threads``."""
    s = settings
    return (
        f'{s["mode"]}, batch {s["batch"]}, {s["frames"]}x{s["size"]}x{s["size"]}, '
        f'{s["dtype"]}, {s["device"]}, {s["threads"]} threads'
    )


def plot(runs: Sequence[dict], out: Path) -> None:
    """Writes the figure to ``out`` (any format matplotlib knows by the suffix)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    train_runs = [run for run in runs if run['settings']['mode'] == 'train']
    panels = len(runs) + len(train_runs)
    columns = min(panels, 2)
    rows_of_panels = -(-panels // columns)
    fig, axes = plt.subplots(
        rows_of_panels, columns, figsize=(6.4 * columns, 3.2 * rows_of_panels), squeeze=False
    )
    axes = list(axes.flat)
    for ax in axes[panels:]:
        ax.axis('off')
    for ax, run in zip(axes, runs):
        rows = run['results']
        names = [r['name'] for r in rows]
        rates = [r['gmacs_per_s'] for r in rows]
        colors = [
            'crimson'
            if n.startswith('smallbig_resnet')
            else 'lightcoral'
            if n == REFERENCE
            else 'tab:gray'
            for n in names
        ]
        ax.barh(names, rates, color=colors)
        reference = next((r for r in rows if r['name'] == REFERENCE), None)
        for y, row in enumerate(rows):
            label = f'{row["clips_per_s"]:.2f} clips/s'
            if reference:
                label += f', {reference["median_s"] / row["median_s"]:.2f}x'
            ax.text(row['gmacs_per_s'], y, ' ' + label, va='center', fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(rates) * 1.7)
        ax.set_xlabel('GMAC/s (higher is better)')
        ax.set_title(title(run['settings']), fontsize=9)
    for ax, run in zip(axes[len(runs) :], train_runs):
        rows = [r for r in run['results'] if r.get('peak_mib')]
        names = [r['name'] for r in rows]
        ax.barh(names, [r['peak_mib'] for r in rows], color='tab:blue', label='tensors')
        if all(r.get('peak_rss_mib') for r in rows):
            ax.scatter(
                [r['peak_rss_mib'] for r in rows],
                names,
                color='black',
                marker='|',
                s=200,
                label='process RSS',
                zorder=3,
            )
        ax.invert_yaxis()
        ax.set_xlabel('peak MiB (lower is better)')
        ax.set_title('memory: ' + title(run['settings']), fontsize=9)
        ax.legend(fontsize=8, loc='lower right')
    fig.tight_layout()
    with atomic_output(out, force=True) as tmp:  # main() refused an existing file
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('files', nargs='+', help='JSON files from tools/benchmark.py --json')
    parser.add_argument('--out', default='docs/benchmarks.png', help='the image to write')
    parser.add_argument('--force', action='store_true', help='overwrite an existing image')
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise SystemExit(f'error: {out} exists: pass --force to replace it')
    plot(load(args.files), out)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
