"""The benchmark tool measures, tabulates and never overwrites its JSON output."""
import json

import pytest

from smallbig_mm.benchmark import Settings, format_table, measure, write_json

TINY = dict(base_channels=4)


@pytest.fixture(scope='module')
def results():
    settings = Settings(batch=2, frames=4, size=32, warmup=0, repeats=2, mode='train', threads=1)
    return settings, [measure('smallbig_resnet23', settings, TINY),
                      measure('c2d_r50', settings, TINY)]


def test_measure_reports_macs_times_and_memory(results):
    _, (smallbig, c2d) = results
    assert smallbig.gmacs > 0 and len(smallbig.times_s) == 2
    assert smallbig.min_s <= smallbig.median_s <= smallbig.max_s
    assert smallbig.peak_mib is not None
    assert c2d.gmacs > 0


def test_table_has_a_row_per_model_and_speed_ups(results):
    settings, rows = results
    table = format_table(rows, settings, baseline='c2d_r50')
    assert 'train, batch 2, 4x32x32' in table
    assert '| smallbig_resnet23 |' in table and table.rstrip().endswith('1.00x |')


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
