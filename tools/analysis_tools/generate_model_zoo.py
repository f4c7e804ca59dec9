"""Writes the model-zoo README.md and metafile.yml of a config folder from one source.

Sources, in ``docs/model_zoo`` (the configs themselves in ``configs/recognition/smallbig``):

* ``model_zoo.yml``: abstract, citation, which configs go in which table, the figures
  reported by the paper, notes;
* the configs: frame sampling, GPUs, batch, epochs and pretraining from their names
  (MMAction2's ``{algo}_{pretrain}-{backbone}_{gpus}xb{batch}-{sampling}-{epochs}e_
  {dataset}-{modality}`` scheme), the testing protocol from their test pipelines;
* ``complexity.json`` (``tools/analysis_tools/model_zoo_table.py``): measured parameters
  and FLOPs (one view at the 256 crop, MMEngine's count, as MMAction2's zoo quotes them).

Example:
    python tools/analysis_tools/generate_model_zoo.py          # write both files
    python tools/analysis_tools/generate_model_zoo.py --check  # exit 1 if they are stale
"""

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from smallbig_mm.utils.files import atomic_output
from smallbig_mm.utils.pipelines import FRAME_SAMPLERS as SAMPLERS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = REPO / 'configs' / 'recognition' / 'smallbig'
DEFAULT_SOURCES = REPO / 'docs' / 'model_zoo'
"""model_zoo.yml and complexity.json: generated and measured files stay out of configs/."""
FLOPS_CROP = '256'
"""The crop of the FLOPs column (MMAction2's zoo quotes FLOPs at the 256 test crop)."""
NOT_RELEASED = 'not released'
REPORTED = 'reported by the paper'
NAME_PATTERN = re.compile(
    r'^(?P<algo>[\w-]+?)_(?:(?P<pretrain>[a-z0-9]+-pretrained)-)?(?P<backbone>r\d+[\w-]*)_'
    r'(?P<gpus>\d+)xb(?P<batch>\d+)-(?P<sampling>\d+x\d+x\d+|u\d+)-(?P<epochs>\d+)e_'
    r'(?P<dataset>[a-z0-9]+(?:-split\d)?)-(?P<modality>[a-z]+)$'
)
PRETRAINED_NAMES = {'imagenet-pretrained': 'ImageNet', 'kinetics400-pretrained': 'Kinetics-400'}
CROPS_PER_VIEW = {'CenterCrop': 1, 'ThreeCrop': 3, 'TenCrop': 10}
HEADER = [
    'frame sampling',
    'resolution',
    'gpus',
    'backbone',
    'pretrain',
    'top1 acc',
    'top5 acc',
    'testing protocol',
    'FLOPs (measured)',
    'params (measured)',
    'config',
    'ckpt',
    'log',
]


@dataclass
class NameFields:
    """What a config name says, by MMAction2's naming scheme."""

    stem: str
    algo: str
    pretrain: Optional[str]
    backbone: str
    gpus: int
    batch: int
    sampling: str
    epochs: int
    dataset: str
    modality: str

    @property
    def frame_sampling(self) -> str:
        """``8x8x1`` (clip_len x interval x clips) or ``uniform 8`` (segments)."""
        return f'uniform {self.sampling[1:]}' if self.sampling.startswith('u') else self.sampling

    @property
    def pretrained(self) -> str:
        """``ImageNet``, ``Kinetics-400`` or ``None``, as MMAction2's metafiles write it."""
        return PRETRAINED_NAMES.get(self.pretrain, 'None')


def parse_name(config: str) -> NameFields:
    """Splits a config file name into its fields.

    Raises:
        ValueError: if the name does not follow the scheme.

    Example:
        >>> parse_name('smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py').gpus
        8
    """
    stem = Path(config).stem
    match = NAME_PATTERN.match(stem)
    if match is None:
        raise ValueError(
            f'{config}: the name does not follow {{algo}}_{{pretrain}}-{{backbone}}_{{gpus}}xb'
            '{batch}-{clip_len}x{interval}x{clips}-{epochs}e_{dataset}-{modality}.py'
        )
    fields = match.groupdict()
    for key in ('gpus', 'batch', 'epochs'):
        fields[key] = int(fields[key])
    return NameFields(stem=stem, **fields)


def testing_protocol(config: Path) -> str:
    """``'<clips> clips x <crops> crops'`` of the config's test pipeline."""
    from mmengine.config import Config

    pipeline = Config.fromfile(str(config)).test_dataloader.dataset.pipeline
    clips = crops = None
    for step in pipeline:
        if step['type'] in SAMPLERS:
            clips = step.get('num_clips', 1) * (2 if step.get('twice_sample') else 1)
        crops = CROPS_PER_VIEW.get(step['type'], crops)
    if clips is None or crops is None:
        raise ValueError(
            f'{config}: the test pipeline needs a frame sampler ({SAMPLERS}) '
            f'and a crop ({", ".join(CROPS_PER_VIEW)})'
        )
    return f'{clips} clip{"s" * (clips > 1)} x {crops} crop{"s" * (crops > 1)}'


def _giga(value: float, unit: str) -> str:
    return f'{value / 1e9:.2f}{unit}'


def _mega(value: float) -> str:
    return f'{value / 1e6:.2f}M'


class ModelZoo:
    """The source of one folder's README and metafile.

    Args:
        folder: the config folder (it receives README.md and metafile.yml).
        sources: the folder holding ``model_zoo.yml`` and ``complexity.json``.
    """

    def __init__(self, folder: Path = DEFAULT_FOLDER, sources: Path = DEFAULT_SOURCES) -> None:
        self.folder = folder
        self.source = yaml.safe_load((sources / 'model_zoo.yml').read_text(encoding='utf-8'))
        data = json.loads((sources / 'complexity.json').read_text(encoding='utf-8'))
        self.complexity = {(REPO / m['config']).resolve(): m for m in data['models']}
        self._protocols: Dict[str, str] = {}

    def config_path(self, config: str) -> Path:
        """The config file (relative to the folder in model_zoo.yml); it must exist."""
        path = self.folder / config
        if not path.is_file():
            raise FileNotFoundError(f'model_zoo.yml names {config}, which is not in {self.folder}')
        return path

    def repo_path(self, config: str) -> str:
        """The config's path from the repository root, as metafiles give it."""
        return str(self.config_path(config).resolve().relative_to(REPO))

    def measured(self, config: str) -> dict:
        """The complexity.json entry of a config."""
        path = (REPO / self.repo_path(config)).resolve()
        if path not in self.complexity:
            raise KeyError(
                f'{config} is not in complexity.json: run tools/analysis_tools/model_zoo_table.py'
            )
        return self.complexity[path]

    def protocol(self, config: str) -> str:
        """The testing protocol of a config (cached)."""
        if config not in self._protocols:
            self._protocols[config] = testing_protocol(self.config_path(config))
        return self._protocols[config]

    def row(self, table: dict, entry: dict) -> List[str]:
        """The README cells of one config."""
        config = entry['config']
        name = parse_name(config)
        measured = self.measured(config)
        return [
            name.frame_sampling,
            table['resolution'],
            str(name.gpus),
            entry['backbone'],
            name.pretrained,
            '-',
            '-',
            self.protocol(config),
            _giga(measured['flops'][FLOPS_CROP], 'G'),
            _mega(measured['params']),
            f'[config]({config})',
            NOT_RELEASED,
            '-',
        ]

    def ensemble_row(self, table: dict, ensemble: dict) -> List[str]:
        """The README cells of an ensemble of configs with a reported accuracy."""
        members = ensemble['members']
        names = [parse_name(m) for m in members]
        flops = sum(self.measured(m)['flops'][FLOPS_CROP] for m in members)
        params = sum(self.measured(m)['params'] for m in members)
        configs = ' + '.join(f'[{n.frame_sampling}]({m})' for n, m in zip(names, members))
        return [
            ' + '.join(n.frame_sampling for n in names),
            table['resolution'],
            str(names[0].gpus),
            ensemble['backbone'],
            names[0].pretrained,
            f'{ensemble["top1"]} ({REPORTED})',
            '-',
            "the paper's",
            _giga(flops, 'G'),
            _mega(params),
            configs,
            NOT_RELEASED,
            '-',
        ]

    def readme(self) -> str:
        """The README.md text."""
        src, col = self.source, self.source['collection']
        out = [
            f'# {col["name"]}',
            '',
            f'> [{col["title"]}]({col["paper"]}) ({col["venue"]})',
            '',
            '<!-- [ALGORITHM] -->',
            '',
            '## Abstract',
            '',
            '<!-- [ABSTRACT] -->',
            '',
            src['abstract'],
            '',
            f'![Kinetics-400 and Something-Something V2 top-1 vs GFLOPs]({src["plot"]})',
            '',
            'Top-1 accuracy against GFLOPs per view. MMAction2 entries: the figures of the '
            'metafiles in the mmaction2 1.2.0 wheel (`mmaction/.mim/configs/recognition/*/'
            'metafile.yml`), as quoted there. SmallBig: accuracy reported by the paper, cost '
            'measured here (224 crop, one view). The paper does not tie its best single '
            'Kinetics-400 entry to a setting in our sources, so it is a horizontal line; the '
            'marks at the bottom are the measured costs of the Kinetics-400 configs. Made by '
            '`tools/analysis_tools/plot_accuracy_vs_flops.py`.',
            '',
            '## Results and Models',
            '',
            '- **FLOPs** and **params** are *measured* by '
            '`tools/analysis_tools/model_zoo_table.py`: one view (1 clip x 1 crop of 256 x 256), '
            "MMEngine's count (convolutions, linear layers and BatchNorm), the convention of "
            "MMAction2's model zoo. The paper's convention (conv + linear multiply-accumulates "
            'at 224) is in [docs/complexity.md](../../../docs/complexity.md).',
            '- **top1 / top5**: no model has been trained with these configs here, and no '
            f'checkpoint exists (**{NOT_RELEASED}**; the reference implementation released '
            f'none either). The only accuracies shown are marked *{REPORTED}* '
            '([arXiv 2006.14582](https://arxiv.org/abs/2006.14582)).',
            '- The reference recipe (SGD, lr 0.01 for 8 GPUs x 8 clips, momentum 0.9, weight '
            'decay 1e-4, cosine over 100 epochs, no warm-up) is '
            '`configs/_base_/schedules/sgd_cosine_100e.py`. Something-Something uses segment '
            "sampling (MMAction2's `UniformSample`) and no flip.",
            '',
        ]
        for table in src['tables']:
            out += [
                f'### {table["title"]}',
                '',
                '| ' + ' | '.join(HEADER) + ' |',
                '|' + ' :-: |' * len(HEADER),
            ]
            rows = [self.row(table, e) for e in table['rows']]
            rows += [self.ensemble_row(table, e) for e in table.get('ensembles', [])]
            out += ['| ' + ' | '.join(cells) + ' |' for cells in rows]
            notes = list(table.get('notes', []))
            if 'best_single_top1' in table:
                notes.insert(
                    0,
                    f"The paper's best single {table['dataset']} entry reaches "
                    f'**{table["best_single_top1"]}** top-1 ({REPORTED}). Our sources '
                    'do not say which of the settings above produced it, so it is not '
                    'attached to a row.',
                )
            if notes:
                out.append('')
                out += [f'{i}. {note}' for i, note in enumerate(notes, start=1)]
            out.append('')
        out += self._usage()
        out += [
            '## Citation',
            '',
            '<!-- [ALGORITHM] -->',
            '',
            '```BibTeX',
            src['citation'],
            '```',
            '',
        ]
        return '\n'.join(out)

    def _usage(self) -> List[str]:
        first = self.source['tables'][0]['rows'][0]['config']
        path = self.repo_path(first)
        return [
            '## Train',
            '',
            "The ImageNet configs inflate torchvision's ResNet from the local torch hub cache "
            '(`torch.hub.get_dir()/checkpoints/resnet50-*.pth`; nothing is downloaded). '
            'Data layouts follow MMAction2 (`data/kinetics400`, `data/sthv1/rawframes`, '
            '`data/sthv2/videos`).',
            '',
            '```shell',
            f'python tools/train.py {path} [ARGS]',
            f"bash tools/dist_train.sh {path} 8 [ARGS]   # 8 GPUs, the recipe's setting",
            '```',
            '',
            'Example: train on 2 GPUs with the learning rate scaled to the batch size.',
            '',
            '```shell',
            f'bash tools/dist_train.sh {path} 2 --auto-scale-lr',
            '```',
            '',
            '## Test',
            '',
            '```shell',
            f'python tools/test.py {path} CHECKPOINT_FILE [--dump result.pkl]',
            '```',
            '',
            'The 8 + 16 frame ensembles average the scores of two tested models: dump both '
            "with `--dump` and fuse them with MMAction2's "
            '`tools/analysis_tools/report_accuracy.py --preds a.pkl b.pkl`.',
            '',
        ]

    def metafile(self) -> str:
        """The metafile.yml text (MMAction2 / OpenMMLab model-index format)."""
        col = self.source['collection']
        readme = str((self.folder / 'README.md').resolve().relative_to(REPO))
        models = []
        for table in self.source['tables']:
            for entry in table['rows']:
                config = entry['config']
                name, measured = parse_name(config), self.measured(config)
                models.append(
                    {
                        'Name': name.stem,
                        'Config': self.repo_path(config),
                        'In Collection': col['name'],
                        'Metadata': {
                            'Architecture': entry['backbone'],
                            'Batch Size': name.batch,
                            'Epochs': name.epochs,
                            'FLOPs': _giga(measured['flops'][FLOPS_CROP], 'G'),
                            'Parameters': _mega(measured['params']),
                            'Pretrained': name.pretrained,
                            'Resolution': table['resolution'],
                            'Training Data': table['dataset'],
                            'Training Resources': f'{name.gpus} GPUs',
                        },
                        'Modality': name.modality.upper(),
                    }
                )
        data = {
            'Collections': [
                {
                    'Name': col['name'],
                    'README': readme,
                    'Paper': {'URL': col['paper'], 'Title': col['title']},
                }
            ],
            'Models': models,
        }
        head = (
            '# Generated by tools/analysis_tools/generate_model_zoo.py from docs/model_zoo/'
            '(model_zoo.yml, complexity.json): edit those, then rerun it.\n'
            '# No checkpoints are released: the models have no Results or Weights.\n'
        )
        return head + yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)

    def outputs(self) -> Dict[Path, str]:
        """File -> text of everything this generator writes."""
        return {
            self.folder / 'README.md': self.readme(),
            self.folder / 'metafile.yml': self.metafile(),
        }


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate README.md and metafile.yml of a model-zoo folder from its '
        'model_zoo.yml, configs and complexity.json'
    )
    parser.add_argument(
        'folder',
        nargs='?',
        type=Path,
        default=DEFAULT_FOLDER,
        help='config folder (default: %(default)s)',
    )
    parser.add_argument(
        '--check',
        action='store_true',
        help='write nothing; exit 1 if a file is missing or out of date',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Writes (or with --check, verifies) the README and metafile."""
    args = parse_args(argv)
    import smallbig_mm.mmaction  # noqa: F401  (configs import it through custom_imports)

    stale = []
    for path, text in ModelZoo(args.folder).outputs().items():
        current = path.read_text(encoding='utf-8') if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(str(path))
        else:
            with atomic_output(path, force=True) as tmp:  # generated files, regenerated
                Path(tmp).write_text(text, encoding='utf-8')
            print(f'wrote {path}')
    if stale:
        sys.exit(
            'out of date (run tools/analysis_tools/generate_model_zoo.py): ' + ', '.join(stale)
        )


if __name__ == '__main__':
    main()
