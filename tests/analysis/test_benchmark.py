"""The benchmark tool measures, tabulates and never overwrites its JSON output."""

import json

import pytest
import torch

from helpers import load_tool
from smallbig_mm.analysis.benchmark import (
    PEERS,
    Settings,
    format_table,
    measure,
    measure_all,
    measure_isolated,
    time_interleaved,
    write_json,
)

TINY = dict(base_channels=4)


@pytest.fixture(scope='module')
def results():
    settings = Settings(batch=2, frames=8, size=32, warmup=0, repeats=2, mode='train', threads=1)
    return settings, measure_all(['smallbig_resnet23', *PEERS], settings, TINY)


@pytest.mark.mmaction
def test_measure_reports_macs_times_and_memory(results):
    _, rows = results
    assert [r.name for r in rows] == ['smallbig_resnet23', *PEERS]
    for row in rows:
        assert row.gmacs > 0 and len(row.times_s) == 2, row.name
        assert (row.min_s, row.max_s) == (min(row.times_s), max(row.times_s)), row.name
        assert row.clips_per_s == pytest.approx(2 / row.median_s), row.name
        assert row.gmacs_per_s == pytest.approx(3 * row.gmacs * 2 / row.median_s), row.name
        assert row.peak_mib > 0 and row.peak_rss_mib is None, row.name  # RSS: isolated only
    by_name = {row.name: row for row in rows}
    # MACs per clip are exact: the reference and the fast path count alike, and SmallBig
    # at 8x32x32 (width 4) does more work than C2D of the same widths
    assert by_name['smallbig_r50_reference'].gmacs > by_name['c2d_r50'].gmacs
    # tensor memory is deterministic: the reference SmallBig keeps pooled maps and
    # argmax indices that C2D (same widths) does not have
    assert by_name['smallbig_r50_reference'].peak_mib > by_name['c2d_r50'].peak_mib


@pytest.mark.mmaction
def test_table_has_a_row_per_model_and_speed_ups(results):
    settings, rows = results
    table = format_table(rows, settings, baseline='c2d_r50')
    assert 'train, batch 2, 8x32x32' in table
    baseline_row = next(line for line in table.splitlines() if line.startswith('| c2d_r50 |'))
    assert '| smallbig_resnet23 |' in table and baseline_row.endswith('| 1.00x | 1.00 |')


@pytest.mark.mmaction
def test_json_is_written_once(results, tmp_path):
    settings, rows = results
    path = tmp_path / 'bench.json'
    write_json(str(path), rows, settings)
    payload = json.loads(path.read_text())
    assert payload['results'][0]['name'] == 'smallbig_resnet23'
    env = payload['environment']
    assert env['torch'] and env['cpu_model'] and env['date'] and env['threads'] >= 1
    assert env['dtype'] == 'fp32' and env['method'].startswith('interleaved')
    assert env['pooling_route'] in format_table(rows, settings)  # and which route ran
    assert env['pooling_route'].startswith(('native', 'pure PyTorch'))
    assert set(env['cpu_isa']) <= {'avx2', 'avx512f', 'avx512_bf16', 'amx_tile', 'amx_bf16'}
    with pytest.raises(FileExistsError, match='exists'):
        write_json(str(path), rows, settings)


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(batch=0), 'batch'),
        (dict(dtype='int8'), 'dtype'),
        (dict(mode='infer'), 'mode'),
        (dict(dtype='fp16'), 'CUDA'),
        (dict(compile=True, warmup=0), 'warmup'),
        (dict(device='foo'), 'device'),
    ],
)
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Settings(**kwargs).validate()


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match='unknown model'):
        measure('resnet_does_not_exist', Settings(frames=4, size=32, repeats=1))


@pytest.mark.mmaction
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
    assert isinstance(row.peak_rss_mib, float) and row.peak_rss_mib >= 0
    # tensor memory is deterministic: the fresh process counts what this one counts
    assert row.peak_mib == measure('smallbig_resnet23', settings, TINY).peak_mib


class FakeClock:
    """A clock that advances by one second per reading, and a log of the steps run."""

    def __init__(self) -> None:
        self.now = 0.0
        self.log = []

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class FakeSubject:
    def __init__(self, name: str, clock: FakeClock, cost: float) -> None:
        self.name, self.clock, self.cost = name, clock, cost

    def step(self) -> None:
        self.clock.log.append(self.name)
        self.clock.now += self.cost


def test_repeats_go_round_robin_after_each_models_warmup():
    clock = FakeClock()
    subjects = [FakeSubject(name, clock, cost) for name, cost in (('a', 1.0), ('b', 2.0))]
    warmup_times = {}
    times = time_interleaved(subjects, warmup=1, repeats=3, clock=clock, warmup_times=warmup_times)
    assert clock.log == ['a', 'b'] + ['a', 'b'] * 3
    # each step is timed by its own two clock readings (1 s apart plus its cost)
    assert times == {'a': [2.0] * 3, 'b': [3.0] * 3}
    assert warmup_times == {'a': [2.0], 'b': [3.0]}


def test_the_first_warm_up_step_is_kept_apart_from_the_timed_ones():
    settings = Settings(frames=4, size=32, warmup=1, repeats=1, threads=2)
    threads = torch.get_num_threads()
    row = measure('smallbig_resnet23', settings, TINY)
    assert row.first_step_s > 0 and len(row.times_s) == 1
    assert torch.get_num_threads() == threads  # measuring leaves the caller's setting alone


@pytest.mark.mmaction
def test_compiled_tables_show_the_first_step_which_includes_compiling(results):
    settings, rows = results
    compiled = Settings(**{**settings.__dict__, 'compile': True})
    rows = [rows[0].__class__(**{**rows[0].__dict__, 'first_step_s': 42.25})]
    table = format_table(rows, compiled)
    assert 'compiled' in table and 'first step s (compiling)' in table
    assert table.splitlines()[-1].endswith('| 42.2 |')
    assert 'first step' not in format_table(rows, settings)


def test_the_profiler_prints_nothing(capfd):
    settings = Settings(frames=4, size=32, warmup=0, repeats=1, threads=1)
    measure('smallbig_resnet23', settings, TINY)
    out, err = capfd.readouterr()
    assert 'USDT' not in out + err and 'profiler_st' not in out + err


@pytest.mark.parametrize(
    'args,match',
    [
        (['smallbig_resnet23', 'smallbig_resnet23'], 'measured once'),
        (['smallbig_resnet23', '--baseline', 'c2d'], 'not among the models'),
        (['smallbig_resnet23', '--model-kwargs', 'pretrained=True'], 'randomly initialised'),
        (['resnet18'], 'not a video model'),
    ],
)
def test_the_tool_refuses_bad_requests_in_one_line_before_measuring(args, match, capsys):
    from smallbig_mm.cli.benchmark import main

    assert main(args + ['--size', '32', '--frames', '4', '--repeats', '1', '--threads', '1']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error:') and match in err and len(err.splitlines()) == 1
