"""tools/analysis_tools/model_zoo_table.py: MMEngine's counts, extrapolated exactly from
small inputs, reproduce the paper's table; the committed complexity.json is current."""

import json
from pathlib import Path

import pytest
import torch

from helpers import PAPER_COUNTS, load_tool

REPO = Path(__file__).resolve().parents[2]
ZOO = REPO / 'configs' / 'recognition' / 'smallbig'
SOURCES = REPO / 'docs' / 'model_zoo'
PRIMITIVE = ZOO / 'smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py'

# the config of each row of the paper table; CONFIG_COUNTS: config -> (parameters, GMACs)
PAPER_CONFIGS = {
    ('c2d-r50', 8): 'c2d_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py',
    ('3d-r50', 8): 'slowonly_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py',
    ('r23', 8): 'ablations/smallbig_r23_8xb8-8x8x1-100e_kinetics400-rgb.py',
    ('r50', 8): 'smallbig_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py',
    ('r50', 16): 'smallbig_imagenet-pretrained-r50_8xb8-16x4x1-100e_kinetics400-rgb.py',
    ('r50', 32): 'smallbig_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
    ('r50-extra', 8): 'smallbig_imagenet-pretrained-r50-extra_8xb8-8x8x1-100e_kinetics400-rgb.py',
    ('r101', 8): 'smallbig_imagenet-pretrained-r101_8xb8-8x8x1-100e_kinetics400-rgb.py',
    ('r101', 16): 'smallbig_imagenet-pretrained-r101_8xb8-16x4x1-100e_kinetics400-rgb.py',
    ('r101', 32): 'smallbig_imagenet-pretrained-r101_8xb8-32x2x1-100e_kinetics400-rgb.py',
}
CONFIG_COUNTS = {config: PAPER_COUNTS[row] for row, config in PAPER_CONFIGS.items()}
# The 8-frame R23/R50 rows are counted live (about 8 s on one core); all rows are checked
# in the committed complexity.json, which the same tool wrote.
LIVE = [name for name, (_, gmacs) in CONFIG_COUNTS.items() if gmacs < 70]


table = load_tool('model_zoo_table')


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(tmp_path: Path, **backbone) -> Path:
    """A config inheriting the primitive, with a narrow backbone (fast to trace)."""
    options = ', '.join(f'{k}={v!r}' for k, v in backbone.items())
    path = tmp_path / 'tiny_config.py'
    path.write_text(
        f"_base_ = ['{PRIMITIVE}']\n"
        f'model = dict(backbone=dict(base_channels=8, pretrained=None, {options}),\n'
        '             cls_head=dict(in_channels=256))\n'
    )
    return path


@pytest.mark.parametrize('config', LIVE)
@pytest.mark.mmaction
def test_live_counts_reproduce_paper_table(config):
    params, gmacs = CONFIG_COUNTS[config]
    row = table.measure(ZOO / config, [224])
    assert row.params == params
    assert round(row.macs[224] / 1e9, 2) == gmacs


def test_committed_json_reproduces_paper_table():
    data = json.loads((SOURCES / 'complexity.json').read_text(encoding='utf-8'))
    rows = {
        Path(m['config']).relative_to('configs/recognition/smallbig').as_posix(): m
        for m in data['models']
    }
    for config, (params, gmacs) in CONFIG_COUNTS.items():
        assert rows[config]['params'] == params, config
        assert round(rows[config]['macs']['224'] / 1e9, 2) == gmacs, config


@pytest.mark.mmaction
def test_committed_json_covers_the_zoo_with_the_right_clip_lengths():
    """Every config of the folder has a row, counted at the clip length it tests with."""
    from mmengine.config import Config

    data = json.loads((SOURCES / 'complexity.json').read_text(encoding='utf-8'))
    rows = {(REPO / m['config']).resolve(): m for m in data['models']}
    assert data['crops'] == [224, 256]
    for path in sorted(ZOO.rglob('*.py')):
        row = rows.get(path.resolve())
        assert row is not None, f'{path.name} missing: run tools/analysis_tools/model_zoo_table.py'
        assert row['frames'] == table.clip_length(Config.fromfile(str(path)))
        assert row['flops']['256'] > row['macs']['256'] > row['macs']['224']


@pytest.mark.mmaction
def test_every_committed_row_matches_a_fresh_meta_device_count():
    """Every row of complexity.json, not only the paper's: parameters and MACs at each crop
    equal a fresh count of the config's model on the meta device (no memory, no compute:
    seconds for all rows). MMEngine's FLOPs (the ``flops`` column) need real tracing and
    are recounted only by the live tests above."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from smallbig_mm.analysis.complexity import count_macs, count_parameters

    data = json.loads((SOURCES / 'complexity.json').read_text(encoding='utf-8'))
    assert len(data['models']) == len(list(ZOO.rglob('*.py')))
    for row in data['models']:
        cfg = Config.fromfile(str(REPO / row['config']))
        init_default_scope(cfg.get('default_scope', 'mmaction'))
        model_cfg = table.analysis_model_cfg(cfg)

        def build():
            return table.ClipLogits(MODELS.build(model_cfg))  # noqa: B023  (called in this loop)

        with torch.device('meta'):
            assert count_parameters(build()) == row['params'], row['config']
        for crop in data['crops']:
            shape = (1, 3, row['frames'], crop, crop)
            assert count_macs(build, shape) == row['macs'][str(crop)], (row['config'], crop)


def test_mmengine_flops_follow_mmaction2_zoo_convention():
    """The 3D baseline is SlowOnly-R50: MMAction2's slowonly metafile quotes 54.75G, 32.45M."""
    data = json.loads((SOURCES / 'complexity.json').read_text(encoding='utf-8'))
    row = next(
        m
        for m in data['models']
        if Path(m['config']).name
        == 'slowonly_imagenet-pretrained-r50_8xb8-8x8x1-100e_kinetics400-rgb.py'
    )
    assert f'{row["flops"]["256"] / 1e9:.2f}G' == '54.75G'
    assert f'{row["params"] / 1e6:.2f}M' == '32.45M'


@pytest.mark.mmaction
def test_extrapolation_equals_direct_tracing(tmp_path):
    """a * area + b from 32x32 and 32x64 equals tracing at 96 (MACs and FLOPs).

    The extra unit's gate (a conv on a globally pooled map) is a cost that does not grow
    with the crop: the constant ``b``. (``measure`` also checks every extrapolated MAC
    count against the meta-device count at the true size.)
    """
    config = tiny_config(tmp_path, extra_stages=(False, True, True, True))
    extrapolated = table.measure(config, [96])
    direct = table.measure(config, [96], direct=True)
    assert extrapolated.macs == direct.macs
    assert extrapolated.flops == direct.flops
    assert direct.flops[96] > direct.macs[96] > 0


def test_crops_must_be_multiples_of_32(tmp_path):
    with pytest.raises(ValueError, match='not a multiple of 32'):
        table.check_crop(200)
    with pytest.raises(SystemExit, match='not a multiple of 32'):
        table.main([str(tiny_config(tmp_path)), '--crops', '200'])


@pytest.mark.mmaction
def test_clip_length_needs_a_sampler(tmp_path):
    from mmengine.config import Config

    path = tiny_config(tmp_path)
    path.write_text(
        path.read_text() + 'test_dataloader = dict(dataset=dict(pipeline=[]))\n'
        'val_dataloader = test_dataloader\n'
    )
    with pytest.raises(ValueError, match='no frame sampler'):
        table.clip_length(Config.fromfile(str(path)))


@pytest.mark.mmaction
def test_cli_writes_markdown_and_json(tmp_path, capsys):
    config = tiny_config(tmp_path)
    out_json, out_md = tmp_path / 'out' / 'c.json', tmp_path / 'out' / 'c.md'
    table.main([str(config), '--crops', '64', '--json', str(out_json), '--md', str(out_md)])
    data = json.loads(out_json.read_text())
    (row,) = data['models']
    assert row['config'] == str(config.resolve()) and row['frames'] == 8
    assert set(row['macs']) == {'64'}
    markdown = out_md.read_text()
    assert markdown == capsys.readouterr().out.rstrip('\n') + '\n'
    assert (
        f'| `tiny_config.py` | 8 | {row["params"]:,} | {row["macs"]["64"] / 1e9:.2f} |' in markdown
    )


@pytest.mark.mmaction
def test_missing_config_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match='no such config file or directory'):
        table.main([str(tmp_path / 'nothere.py')])
