"""The SmallBig model zoo: every config builds and runs, names match contents, the configs
inherit (at most 3 levels, no pipeline written twice), and README.md / metafile.yml are
what the generator makes of model_zoo.yml."""

import ast
import re
from pathlib import Path

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

from helpers import load_tool

REPO = Path(__file__).resolve().parents[2]
ZOO = REPO / 'configs' / 'recognition' / 'smallbig'
SOURCES = REPO / 'docs' / 'model_zoo'  # model_zoo.yml, complexity.json, the plot
BASES = REPO / 'configs' / '_base_'
CONFIGS = sorted(p for p in ZOO.rglob('*.py'))
NUM_CLASSES = {
    'kinetics400': 400,
    'sthv1': 174,
    'sthv2': 174,
    'motion': 2,
    'ucf101': 101,
    'hmdb51': 51,
}  # by dataset, without the split (ucf101-split1)
BASELINE_BLOCKS = {'c2d': ('2d', '2d', '2d', '2d'), 'slowonly': ('2d', '2d', '3d', '3d')}
TINY_WIDTH = 4


generator = load_tool('generate_model_zoo')


def config_id(path: Path) -> str:
    return str(path.relative_to(ZOO))


def sampler_of(pipeline):
    steps = [s for s in pipeline if s['type'] in ('SampleFrames', 'UniformSample')]
    assert len(steps) == 1, f'expected one frame sampler, got {pipeline}'
    return steps[0]


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_builds_and_runs_a_tiny_forward(path):
    """The model (at base width 4) scores a 4-frame 32x32 clip; every transform builds."""
    from mmaction.registry import MODELS, TRANSFORMS
    from mmaction.structures import ActionDataSample

    cfg = Config.fromfile(str(path))
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    for split in ('train', 'val', 'test'):
        for step in cfg[f'{split}_dataloader'].dataset.pipeline:
            TRANSFORMS.build(step)
    model_cfg = cfg.model
    model_cfg.backbone.update(base_channels=TINY_WIDTH, pretrained=None)
    model_cfg.cls_head.in_channels = TINY_WIDTH * 8 * 4  # res5 planes x expansion
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).eval()
    clip = torch.randint(0, 256, (1, 3, 4, 32, 32), dtype=torch.uint8)
    data = dict(inputs=[clip], data_samples=[ActionDataSample().set_gt_label(0)])
    with torch.no_grad():
        sample = model.test_step(data)[0]
    scores = sample.pred_score
    assert scores.shape == (cfg.model.cls_head.num_classes,)
    assert torch.isfinite(scores).all() and abs(float(scores.sum()) - 1) < 1e-4


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_name_matches_its_contents(path):
    """Depth, blocks, pretraining, batch, sampling, epochs and classes are what the name says."""
    name = generator.parse_name(path.name)
    cfg = Config.fromfile(str(path))
    backbone = cfg.model.backbone
    assert f'r{backbone.depth}' == name.backbone.split('-')[0]
    if name.algo == 'smallbig':
        assert 'smallbig' in backbone.block_types
    else:
        assert tuple(backbone.block_types) == BASELINE_BLOCKS[name.algo]
    assert ('extra' in name.backbone.split('-')) == any(backbone.get('extra_stages', ()))
    if name.pretrain == 'imagenet-pretrained':
        assert backbone.pretrained == f'torchvision://resnet{backbone.depth}'
        assert backbone.pretrained2d is True
    else:
        assert backbone.pretrained is None
    assert cfg.train_dataloader.batch_size == name.batch
    assert cfg.auto_scale_lr.base_batch_size == name.gpus * name.batch
    assert cfg.train_cfg.max_epochs == name.epochs
    assert cfg.model.cls_head.num_classes == NUM_CLASSES[name.dataset.split('-')[0]]
    for split in ('train', 'val', 'test'):
        sampler = sampler_of(cfg[f'{split}_dataloader'].dataset.pipeline)
        if name.sampling.startswith('u'):
            assert sampler['type'] == 'UniformSample'
            assert sampler['clip_len'] == int(name.sampling[1:])
        else:
            clip_len, interval, clips = map(int, name.sampling.split('x'))
            assert sampler['type'] == 'SampleFrames'
            assert (sampler['clip_len'], sampler['frame_interval']) == (clip_len, interval)
            if split == 'train':
                assert sampler['num_clips'] == clips


@pytest.mark.parametrize('dataset', ['sthv1', 'sthv2'])
def test_something_something_uses_segments_without_flip(dataset):
    """TSN-style segments (UniformSample, NCTHW) and no flip, as the recipe says."""
    for path in ZOO.glob(f'*_{dataset}-rgb.py'):
        cfg = Config.fromfile(str(path))
        train = [s['type'] for s in cfg.train_dataloader.dataset.pipeline]
        assert 'Flip' not in train and train.count('UniformSample') == 1
        formats = [s for s in cfg.train_dataloader.dataset.pipeline if s['type'] == 'FormatShape']
        assert formats[0]['input_format'] == 'NCTHW'
        expected = 'RawframeDataset' if dataset == 'sthv1' else 'VideoDataset'
        assert cfg.train_dataloader.dataset.type == expected


@pytest.fixture(scope='module')
def tiny_datasets(tmp_path_factory):
    """The demo clip as a video dataset and 20 of its frames as a rawframe dataset."""
    import cv2
    import decord

    root = tmp_path_factory.mktemp('sth')
    reader = decord.VideoReader(str(REPO / 'demo' / 'demo.mp4'))
    (root / 'frames' / 'clip').mkdir(parents=True)
    for i in range(20):
        frame = cv2.resize(reader[i * 10].asnumpy(), (128, 96))[..., ::-1]
        cv2.imwrite(str(root / 'frames' / 'clip' / f'{i + 1:05}.jpg'), frame)
    (root / 'frames.txt').write_text('clip 20 3\n')
    (root / 'videos.txt').write_text('demo.mp4 3\n')
    return {
        'RawframeDataset': (root / 'frames.txt', dict(img=str(root / 'frames'))),
        'VideoDataset': (root / 'videos.txt', dict(video=str(REPO / 'demo'))),
    }


@pytest.mark.parametrize(
    'name, splits',
    [
        (
            'smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py',
            {'train': (1, 8, 224), 'val': (1, 8, 224), 'test': (30, 8, 256)},
        ),
        (
            'smallbig_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
            {'val': (1, 32, 224)},
        ),
        (
            'smallbig_imagenet-pretrained-r50_8xb8-u8-100e_sthv1-rgb.py',
            {'train': (1, 8, 224), 'val': (1, 8, 224), 'test': (6, 8, 256)},
        ),
        ('smallbig_imagenet-pretrained-r50_8xb8-u16-100e_sthv1-rgb.py', {'test': (6, 16, 256)}),
        (
            'smallbig_imagenet-pretrained-r50_8xb8-u8-100e_sthv2-rgb.py',
            {'train': (1, 8, 224), 'val': (1, 8, 224), 'test': (6, 8, 256)},
        ),
        ('smallbig_imagenet-pretrained-r50_8xb8-u16-100e_sthv2-rgb.py', {'train': (1, 16, 224)}),
        (
            'smallbig_kinetics400-pretrained-r50_8xb8-8x8x1-30e_ucf101-split1-rgb.py',
            {'train': (1, 8, 224), 'test': (30, 8, 256)},
        ),
        (
            'smallbig_kinetics400-pretrained-r50_8xb8-8x8x1-30e_hmdb51-split3-rgb.py',
            {'val': (1, 8, 224)},
        ),
    ],
)
def test_dataset_pipelines_load_real_data(tiny_datasets, name, splits):
    """Each split's dataset and pipeline turn a real clip into (views, 3, T, crop, crop)."""
    from mmaction.registry import DATASETS

    cfg = Config.fromfile(str(ZOO / name))
    init_default_scope('mmaction')
    for split, (views, frames, crop) in splits.items():
        dataset_cfg = cfg[f'{split}_dataloader'].dataset
        ann_file, prefix = tiny_datasets[dataset_cfg.type]
        dataset_cfg.update(ann_file=str(ann_file), data_prefix=prefix)
        item = DATASETS.build(dataset_cfg)[0]
        assert tuple(item['inputs'].shape) == (views, 3, frames, crop, crop), split
        assert int(item['data_samples'].gt_label) == 3


def _bases(path: Path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            return [
                (path.parent / b).resolve() for b in ([value] if isinstance(value, str) else value)
            ]
    return []


def _levels(path: Path) -> int:
    return 1 + max((_levels(base) for base in _bases(path)), default=0)


@pytest.mark.parametrize('path', CONFIGS, ids=config_id)
def test_config_inherits_at_most_three_levels(path):
    """Three levels; four for the split-2 and split-3 children of the UCF101 and HMDB51
    split-1 configs (whose dataset bases take Kinetics-400's pipelines)."""
    bases = _bases(path)
    assert bases, f'{path.name} inherits nothing'
    assert all(base.is_file() for base in bases)
    split_child = re.search(r'-split[23]-', path.name) is not None
    assert _levels(path) <= 3 + split_child, f'{path.name}: {_levels(path)} levels of inheritance'


@pytest.mark.parametrize('dataset, classes', [('ucf101', 101), ('hmdb51', 51)])
def test_ucf101_hmdb51_fine_tune_kinetics400_on_each_split(dataset, classes):
    """Split N reads split N's files (MMAction2's names), from the Kinetics-400 model."""
    for split in (1, 2, 3):
        (path,) = ZOO.glob(f'smallbig_kinetics400-pretrained-*_{dataset}-split{split}-rgb.py')
        cfg = Config.fromfile(str(path))
        assert cfg.model.cls_head.num_classes == classes
        assert 'kinetics400-rgb' in cfg.load_from and cfg.model.backbone.pretrained is None
        files = {cfg[f'{s}_dataloader'].dataset.ann_file for s in ('train', 'val', 'test')}
        assert files == {
            f'data/{dataset}/{dataset}_train_split_{split}_videos.txt',
            f'data/{dataset}/{dataset}_val_split_{split}_videos.txt',
        }
        assert cfg.train_dataloader.dataset.data_prefix.video == f'data/{dataset}/videos'
        assert cfg.test_dataloader.batch_size == 1


def _family(path: Path) -> str:
    if path.parent == BASES / 'datasets':
        return 'sth' if 'something' in path.name else path.stem
    dataset = generator.parse_name(path.name).dataset
    return 'sth' if dataset.startswith('sth') else dataset


def test_no_pipeline_is_written_twice():
    """A child config writes no transform; an augmentation step is spelled out once per
    dataset family (Kinetics, Something-Something V1+V2 share one base, motion)."""
    files = CONFIGS + sorted((BASES / 'datasets').glob('*.py'))
    spelled = {}
    for path in files:
        text = path.read_text(encoding='utf-8')
        is_child = any('_base_' not in base.parts for base in _bases(path))
        if is_child:
            assert "type='" not in text, f'{path.name} inherits a config but writes transforms'
        for step in ('MultiScaleCrop', 'CenterCrop', 'ThreeCrop', 'Flip', 'FormatShape'):
            if f"type='{step}'" in text:
                key = (_family(path), step)
                assert key not in spelled, f'{step} written in {spelled.get(key)} and {path.name}'
                spelled[key] = path.name
    assert ('sth', 'MultiScaleCrop') in spelled and ('kinetics400', 'ThreeCrop') in spelled


def test_readme_and_metafile_are_up_to_date():
    """Committed README.md and metafile.yml equal what the generator makes now."""
    for path, text in generator.ModelZoo(ZOO).outputs().items():
        assert path.read_text(encoding='utf-8') == text, (
            f'{path.name} is stale: run python tools/analysis_tools/generate_model_zoo.py'
        )


def test_model_zoo_lists_every_zoo_config():
    """Every config but the motion quick start appears in model_zoo.yml exactly once."""
    source = yaml.safe_load((SOURCES / 'model_zoo.yml').read_text(encoding='utf-8'))
    listed = [row['config'] for table in source['tables'] for row in table['rows']]
    assert len(listed) == len(set(listed))
    expected = {config_id(p) for p in CONFIGS if generator.parse_name(p.name).dataset != 'motion'}
    assert set(listed) == expected


def test_readme_marks_paper_figures_and_measured_figures():
    readme = (ZOO / 'README.md').read_text(encoding='utf-8')
    for figure in ('77.4', '50.4 (reported by the paper)', '63.3 (reported by the paper)'):
        assert figure in readme
    assert 'FLOPs (measured)' in readme and 'params (measured)' in readme
    assert 'not released' in readme and '2006.14582' in readme and '@inproceedings' in readme
    assert (ZOO / re.search(r'!\[[^\]]*\]\(([^)]+)\)', readme).group(1)).is_file()
    metafile = yaml.safe_load((ZOO / 'metafile.yml').read_text(encoding='utf-8'))
    for model in metafile['Models']:
        assert (REPO / model['Config']).is_file()
        assert re.fullmatch(r'\d+\.\d\dG', model['Metadata']['FLOPs'])


def test_parse_name_rejects_names_off_the_scheme():
    with pytest.raises(ValueError, match='does not follow'):
        generator.parse_name('my_smallbig_config.py')


def test_comparison_figures_match_the_installed_mmaction2_metafiles():
    """The zoo figures copied into model_zoo.yml for the plot are the wheel's."""
    plotter = load_tool('plot_accuracy_vs_flops')
    source = yaml.safe_load((SOURCES / 'model_zoo.yml').read_text(encoding='utf-8'))
    assert {e['method'] for e in source['comparison']} >= {
        'I3D',
        'SlowOnly',
        'TSM',
        'SlowFast',
        'X3D',
    }
    assert plotter.check_comparison(source['comparison']) == []
    wrong = [dict(source['comparison'][0], top1=99.9)]
    assert 'says 99.9' in plotter.check_comparison(wrong)[0]
