"""The benchmark tool measures, tabulates and never overwrites its JSON output."""
import json

import pytest

from smallbig_mm.benchmark import PEERS, Settings, format_table, measure, write_json

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
        assert row.peak_mib is not None


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
