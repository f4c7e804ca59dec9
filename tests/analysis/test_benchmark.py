"""The benchmark tool measures, tabulates and never overwrites its JSON output."""
import json

import pytest

from helpers import load_tool
from smallbig_mm.analysis.benchmark import (PEERS, Settings, format_table, measure, measure_isolated,
                                   write_json)

TINY = dict(base_channels=4)


@pytest.fixture(scope='module')
def results():
    settings = Settings(batch=2, frames=8, size=32, warmup=0, repeats=2, mode='train', threads=1)
    return settings, [measure(name, settings, TINY) for name in ('smallbig_resnet23', *PEERS)]


def test_measure_reports_macs_times_and_memory(results):
    _, rows = results
    assert [r.name for r in rows] == ['smallbig_resnet23', *PEERS]
    for row in rows:
        assert row.gmacs > 0 and len(row.times_s) == 2, row.name
        assert row.min_s <= row.median_s <= row.max_s
        assert row.peak_mib > 0 and row.peak_rss_mib is None, row.name  # RSS: isolated only
    by_name = {row.name: row for row in rows}
    # tensor memory is deterministic: the reference SmallBig keeps pooled maps and
    # argmax indices that C2D (same widths) does not have
    assert by_name['smallbig_r50_reference'].peak_mib > by_name['c2d_r50'].peak_mib


def test_table_has_a_row_per_model_and_speed_ups(results):
    settings, rows = results
    table = format_table(rows, settings, baseline='c2d_r50')
    assert 'train, batch 2, 8x32x32' in table
    baseline_row = next(line for line in table.splitlines() if line.startswith('| c2d_r50 |'))
    assert '| smallbig_resnet23 |' in table and baseline_row.endswith('| 1.00x |')


def test_json_is_written_once(results, tmp_path):
    settings, rows = results
    path = tmp_path / 'bench.json'
    write_json(str(path), rows, settings)
    assert json.loads(path.read_text())['results'][0]['name'] == 'smallbig_resnet23'
    with pytest.raises(FileExistsError, match='exists'):
        write_json(str(path), rows, settings)


@pytest.mark.parametrize('kwargs,match', [
    (dict(batch=0), 'batch'), (dict(dtype='int8'), 'dtype'), (dict(mode='infer'), 'mode'),
    (dict(dtype='fp16'), 'CUDA'),
])
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Settings(**kwargs).validate()


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match='unknown model'):
        measure('resnet_does_not_exist', Settings(frames=4, size=32, repeats=1))


def test_plot_tool_draws_the_json_files_and_never_overwrites(results, tmp_path):
    settings, rows = results
    plot_benchmarks = load_tool('plot_benchmarks')
    data = tmp_path / 'train.json'
    write_json(str(data), rows, settings)
    out = tmp_path / 'plot.png'
    plot_benchmarks.main([str(data), '--out', str(out)])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(SystemExit, match='exists'):
        plot_benchmarks.main([str(data), '--out', str(out)])
    (tmp_path / 'other.json').write_text('{"rows": []}')
    with pytest.raises(SystemExit, match='not a tools/benchmark.py --json file'):
        plot_benchmarks.main([str(tmp_path / 'other.json'), '--out', str(tmp_path / 'x.png')])


def test_isolated_measurement_also_reports_the_process_rss():
    settings = Settings(frames=4, size=32, warmup=0, repeats=1, threads=1)
    row = measure_isolated('smallbig_resnet23', settings, TINY)
    assert row.peak_mib > 0 and row.peak_rss_mib is not None
