"""Speed and memory of video backbones, measured side by side in one process.

A *subject* is something to build and time: a timm model name (``smallbig_resnet50``),
an MMAction2 config file (its backbone is timed), or one of the :data:`PEERS` that
``--compare`` adds: the straightforward SmallBig (the reference units, no fast path),
the C2D baseline, and MMAction2's own SlowOnly-R50 and I3D-R50.

All subjects are built first; then the repeats go round-robin (:func:`time_interleaved`):
repeat 1 of every model, then repeat 2 of every model, and so on, so that a busy
neighbour on a shared machine slows every model alike. Every figure is a median over
repeats with its spread; MACs come from :func:`smallbig_mm.analysis.complexity.count_macs`
(conv + linear multiply-adds), so the table also gives MACs per second. Ratios between
rows of one run are the figures to trust: timings drift between runs.
"""

import contextlib
import datetime
import functools
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import torch
from torch import Tensor, nn

from ..ops.bigview_pool import route_name
from ..utils.errors import UsageError
from ..utils.files import atomic_output
from .complexity import count_macs

ISA_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile', 'amx_bf16')
"""The CPU features (as /proc/cpuinfo names them) that decide the speed of the convs and
the pooling: AVX2, AVX-512, AVX512-BF16 and AMX."""

PEERS: Dict[str, dict] = {
    'smallbig_r50_reference': dict(type='SmallBigResNet', depth=50, fast_path=False),
    'c2d_r50': dict(type='SmallBigResNet', depth=50, block_types=('2d',) * 4),
    'mmaction_slowonly_r50': dict(
        type='ResNet3dSlowOnly',
        depth=50,
        lateral=False,
        conv1_kernel=(1, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(0, 0, 1, 1),
        norm_eval=False,
    ),
    'mmaction_i3d_r50': dict(
        type='ResNet3d',
        depth=50,
        conv1_kernel=(5, 7, 7),
        conv1_stride_t=2,
        pool1_stride_t=2,
        inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
        zero_init_residual=False,
    ),
}
"""MMAction2 backbone configs of the models ``--compare`` times beside the subject."""


@dataclass
class Settings:
    """How to measure.

    Args:
        batch: clips per step.
        frames: T of each clip.
        size: H = W of each clip.
        dtype: 'fp32', or 'bf16' (autocast) / 'fp16' (autocast, CUDA only).
        device: 'cpu' or 'cuda'.
        threads: CPU threads (torch.set_num_threads); 0 keeps the default.
        mode: 'eval' (inference under no_grad) or 'train' (forward, backward, SGD step).
        compile: wrap the model in torch.compile.
        channels_last: convert every model and input to channels_last_3d.
        warmup: runs first, left out of the figures (the first is kept as ``first_step_s``).
        repeats: timed runs.
    """

    batch: int = 1
    frames: int = 8
    size: int = 224
    dtype: str = 'fp32'
    device: str = 'cpu'
    threads: int = 2
    mode: str = 'eval'
    compile: bool = False
    channels_last: bool = False
    warmup: int = 1
    repeats: int = 5

    def validate(self) -> None:
        """Raises UsageError naming the first bad setting."""
        for name in ('batch', 'frames', 'size', 'repeats'):
            if getattr(self, name) < 1:
                raise UsageError(f'{name} must be >= 1, got {getattr(self, name)}')
        if self.warmup < 0 or self.threads < 0:
            raise UsageError('warmup and threads must be >= 0')
        if self.compile and self.warmup < 1:
            raise UsageError('--compile needs --warmup 1 or more: the first step compiles')
        if self.dtype not in ('fp32', 'bf16', 'fp16'):
            raise UsageError(f'dtype must be fp32, bf16 or fp16, got {self.dtype!r}')
        if self.mode not in ('eval', 'train'):
            raise UsageError(f"mode must be 'eval' or 'train', got {self.mode!r}")
        try:
            torch.device(self.device)
        except RuntimeError:
            raise UsageError(
                f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}"
            ) from None
        if self.device.startswith('cuda') and not torch.cuda.is_available():
            raise UsageError('device cuda was asked for, but CUDA is not available')
        if self.dtype == 'fp16' and not self.device.startswith('cuda'):
            raise UsageError('fp16 autocast needs a CUDA device; use bf16 on the CPU')


@dataclass
class Result:
    """One row of the table. Times in seconds per step; memory in MiB.

    ``first_step_s`` is the first warm-up step (None without warm-up); compiled, it
    includes the compilation. ``peak_mib`` is the peak of memory held by tensors: the
    model, optimizer state and input, plus the step's peak of activations, gradients and
    temporaries (on CUDA, ``torch.cuda.max_memory_allocated``). ``peak_rss_mib`` (CPU only) is what the
    operating system saw: the growth of the process's peak RSS, allocator slack
    included; comparable only between subjects measured in fresh processes.
    """

    name: str
    gmacs: float
    median_s: float
    min_s: float
    max_s: float
    clips_per_s: float
    gmacs_per_s: float
    peak_mib: Optional[float] = None
    peak_rss_mib: Optional[float] = None
    times_s: List[float] = field(default_factory=list)
    first_step_s: Optional[float] = None


def build_subject(name: str, **kwargs) -> nn.Module:
    """Builds a subject: a PEERS key, an MMAction2 config path, or a timm model name.

    Args:
        name: what to build.
        **kwargs: overrides for the backbone (e.g. ``base_channels=8``).
    """
    if name in PEERS or name.endswith('.py'):
        import smallbig_mm.mmaction  # noqa: F401  (registers the backbone)
    if name in PEERS:
        from mmaction.registry import MODELS

        return MODELS.build({**PEERS[name], **kwargs})
    if name.endswith('.py'):
        from mmaction.registry import MODELS

        from ..mmaction.config_scope import read_config

        if not os.path.isfile(name):
            raise UsageError(f'config file not found: {name}')
        backbone = read_config(name).model.backbone
        backbone.update(pretrained=None, **kwargs)
        return MODELS.build(backbone)
    from ..timm_models.build import UnknownModelError, create_model
    from ..timm_models.smallbig_timm import SmallBigResNetClassifier

    try:
        model = create_model(name, pretrained=False, **kwargs)
    except UnknownModelError as err:
        raise UsageError(f'{err}; or give a config .py file, or one of {sorted(PEERS)}') from None
    except UsageError as err:  # a --model-kwargs key the model does not take
        raise UsageError(f'{err} (check --model-kwargs)') from None
    if not isinstance(model, SmallBigResNetClassifier):
        raise UsageError(
            f'{name!r} builds a {type(model).__name__}, not a video model taking '
            'clips (N, 3, T, H, W): give a smallbig_* name, a config .py file, or '
            f'one of {sorted(PEERS)}'
        )
    return model


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


@contextlib.contextmanager
def quiet_native_output() -> Iterator[None]:
    """Sends what native code prints to stdout and stderr (the profiler's ``USDT:`` and
    device-probe lines) to /dev/null for the duration of the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


@contextlib.contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """torch's CPU thread count set to ``count`` (0: left as it is) for the block, then
    restored, so that measuring leaves the caller's setting alone."""
    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cpu_step_tensor_peak(step: Callable[[], None]) -> Optional[int]:
    """The peak growth, in bytes, of CPU tensor memory during one call of ``step``.

    Read from the allocation events of PyTorch's profiler; None where this PyTorch
    build does not expose them.
    """
    from torch.profiler import ProfilerActivity, profile

    with (
        quiet_native_output(),
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
    ):
        step()
    try:
        events = [
            (e.start_ns(), e.nbytes())
            for e in prof.profiler.kineto_results.events()
            if e.name() == '[memory]'
        ]
    except AttributeError:
        return None
    current = peak = 0
    for _, nbytes in sorted(events):
        current += nbytes
        peak = max(peak, current)
    return peak


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


class Subject:
    """A built subject, ready to run one step (:meth:`step`) as ``settings`` say.

    Args:
        name: see :func:`build_subject`.
        settings: how to run.
        model_kwargs: backbone overrides.
    """

    def __init__(self, name: str, settings: Settings, model_kwargs: Optional[dict] = None) -> None:
        self.name = name
        self.settings = settings
        self.device = torch.device(settings.device)
        shape = (settings.batch, 3, settings.frames, settings.size, settings.size)

        def build() -> nn.Module:
            return build_subject(name, **(model_kwargs or {}))

        self.macs_per_clip = count_macs(build, shape) / settings.batch
        model = build().to(self.device)
        x = torch.randn(*shape, device=self.device)
        if settings.channels_last:
            model = model.to(memory_format=torch.channels_last_3d)
            x = x.contiguous(memory_format=torch.channels_last_3d)
        model.train(settings.mode == 'train')  # not chained: MMAction2's train() returns None
        self.model, self.x = model, x
        self.step_model = torch.compile(model) if settings.compile else model
        self.optimizer = (
            torch.optim.SGD(model.parameters(), lr=1e-4) if settings.mode == 'train' else None
        )
        self.amp_dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(settings.dtype)

    def step(self) -> None:
        """One inference pass, or one training step (forward, backward, SGD)."""
        if self.optimizer is not None:  # before the forward pass: no stale gradients held
            self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
        ):
            if self.optimizer is None:
                with torch.no_grad():
                    self.step_model(self.x)
                return
            out = self.step_model(self.x)
            out = out[-1] if isinstance(out, (tuple, list)) else out
            loss = out.float().square().mean()
        loss.backward()
        self.optimizer.step()

    def held_tensors(self) -> List[Tensor]:
        """What the subject holds between steps: weights, buffers, input, grads, state."""
        held = [*self.model.parameters(), *self.model.buffers(), self.x]
        held += [p.grad for p in self.model.parameters() if p.grad is not None]
        if self.optimizer is not None:
            held += [t for state in self.optimizer.state.values() for t in state.values()]
        return held


def time_interleaved(
    subjects: Sequence,
    warmup: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
    sync: Callable[[], None] = lambda: None,
    warmup_times: Optional[Dict[str, List[float]]] = None,
) -> Dict[str, List[float]]:
    """Times ``repeats`` steps of every subject, round-robin: repeat r of each, then r + 1.

    Each subject's warm-up steps run first (compilation, caches, allocator); then for each
    repeat, every subject runs one timed step in turn.

    Args:
        subjects: objects with ``name`` and ``step()``.
        warmup: steps per subject before the timed ones (timed only for ``warmup_times``).
        repeats: timed steps per subject.
        clock: the timer (a fake one in tests).
        sync: waits for the device (``torch.cuda.synchronize`` on CUDA).
        warmup_times: if given, filled with each subject's warm-up step times (the first
            one includes any compilation).

    Returns:
        Seconds per step, in repeat order, by subject name.

    Example:
        >>> class Noop:
        ...     name = 'noop'
        ...     def step(self): pass
        >>> len(time_interleaved([Noop()], warmup=0, repeats=3)['noop'])
        3
    """

    def timed_step(subject) -> float:
        sync()
        start = clock()
        subject.step()
        sync()
        return clock() - start

    for subject in subjects:
        warmed = [timed_step(subject) for _ in range(warmup)]
        if warmup_times is not None:
            warmup_times[subject.name] = warmed
    times: Dict[str, List[float]] = {subject.name: [] for subject in subjects}
    for _ in range(repeats):
        for subject in subjects:
            times[subject.name].append(timed_step(subject))
    return times


def measure_all(
    names: Sequence[str],
    settings: Settings,
    model_kwargs: Optional[dict] = None,
    fresh_process: bool = False,
) -> List[Result]:
    """Builds every subject, times them interleaved, then measures each one's memory.

    Memory (:class:`Result`): on CUDA, the peak of allocated memory over the timed steps
    of all subjects, so only with one subject; on the CPU, one more, untimed step of each
    subject is profiled for its tensor allocations, and the peak RSS is recorded when
    ``fresh_process`` says that this process measures nothing else
    (:func:`measure_isolated`).

    Example:
        >>> settings = Settings(frames=4, size=32, repeats=1)
        >>> measure_all(['smallbig_resnet23'], settings, dict(base_channels=8))[0].gmacs > 0
        True
    """
    settings.validate()
    if len(set(names)) != len(names):
        raise UsageError(f'each model may be measured once, got {list(names)}')
    with cpu_threads(settings.threads):
        return _measure_all(names, settings, model_kwargs, fresh_process)


def _measure_all(
    names: Sequence[str], settings: Settings, model_kwargs: Optional[dict], fresh_process: bool
) -> List[Result]:
    rss_before = _peak_rss_mib()
    subjects = [Subject(name, settings, model_kwargs) for name in names]
    cuda = settings.device.startswith('cuda')
    sync = functools.partial(_sync, settings.device)
    warmup_times: Dict[str, List[float]] = {}
    if cuda:  # warm up apart, so that the memory peak is that of the timed steps
        time_interleaved(subjects, settings.warmup, 0, sync=sync, warmup_times=warmup_times)
        torch.cuda.reset_peak_memory_stats(settings.device)
    times = time_interleaved(
        subjects,
        0 if cuda else settings.warmup,
        settings.repeats,
        sync=sync,
        warmup_times=None if cuda else warmup_times,
    )
    results = []
    for subject in subjects:
        peak_rss = peak = None
        if cuda:
            peak = (
                torch.cuda.max_memory_allocated(settings.device) / 2**20
                if len(subjects) == 1
                else None
            )
        else:
            peak_rss = _peak_rss_mib() - rss_before if fresh_process else None
            held = _tensor_bytes(subject.held_tensors())  # when the profiled step starts
            step_peak = _cpu_step_tensor_peak(subject.step)
            peak = None if step_peak is None else (held + step_peak) / 2**20
        first_step = next(iter(warmup_times.get(subject.name, [])), None)
        results.append(_result(subject, times[subject.name], peak, peak_rss, first_step))
    return results


def _result(
    subject: Subject,
    times: List[float],
    peak: Optional[float],
    peak_rss: Optional[float],
    first_step: Optional[float] = None,
) -> Result:
    settings = subject.settings
    median = statistics.median(times)
    gmacs = subject.macs_per_clip / 1e9
    work = 3 if settings.mode == 'train' else 1  # backward costs about two forwards
    return Result(
        name=subject.name,
        gmacs=gmacs,
        median_s=median,
        min_s=min(times),
        max_s=max(times),
        clips_per_s=settings.batch / median,
        gmacs_per_s=work * gmacs * settings.batch / median,
        peak_mib=peak,
        peak_rss_mib=peak_rss,
        times_s=times,
        first_step_s=first_step,
    )


def measure(
    name: str, settings: Settings, model_kwargs: Optional[dict] = None, fresh_process: bool = False
) -> Result:
    """:func:`measure_all` of one subject."""
    return measure_all([name], settings, model_kwargs, fresh_process)[0]


def measure_isolated(name: str, settings: Settings, model_kwargs: Optional[dict] = None) -> Result:
    """:func:`measure` in a fresh process, so that CPU peak memory is the subject's own.

    Subjects measured this way are timed one after the other, not interleaved.
    """
    context = multiprocessing.get_context('spawn')
    with context.Pool(1) as pool:
        return pool.apply(measure, (name, settings, model_kwargs, True))


def _mib(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.0f}'


def format_table(
    results: Sequence[Result], settings: Settings, baseline: Optional[str] = None
) -> str:
    """A Markdown table; ``baseline`` adds speed-ups and MAC efficiencies relative to that row.

    MAC efficiency is MACs per second relative to the baseline's: (GMACs / s) / (GMACs_b / s_b).
    """
    base = next((r for r in results if r.name == baseline), None)
    header = (
        '| model | GMACs/clip | median s/step | spread (min-max) | clips/s | '
        'GMAC/s | peak MiB | peak RSS MiB |'
        + (' first step s (compiling) |' if settings.compile else '')
        + (f' speed-up vs {baseline} | MAC efficiency vs {baseline} |' if base else '')
    )
    lines = [
        f'{settings.mode}, batch {settings.batch}, {settings.frames}x{settings.size}x'
        f'{settings.size}, {settings.dtype}, {settings.device}, threads {settings.threads}'
        f'{", compiled" if settings.compile else ""}'
        f'{", channels_last_3d" if settings.channels_last else ""}'
        f', median of {settings.repeats}, big-view pooling: '
        f'{route_name(torch.device(settings.device).type)}',
        '',
        header,
        '|' + '---|' * (header.count('|') - 1),
    ]
    for r in results:
        row = (
            f'| {r.name} | {r.gmacs:.2f} | {r.median_s:.3f} | {r.min_s:.3f}-{r.max_s:.3f} | '
            f'{r.clips_per_s:.2f} | {r.gmacs_per_s:.1f} | '
            f'{_mib(r.peak_mib)} | {_mib(r.peak_rss_mib)} |'
        )
        if settings.compile:
            row += ' |' if r.first_step_s is None else f' {r.first_step_s:.1f} |'
        if base:
            efficiency = (r.gmacs / r.median_s) / (base.gmacs / base.median_s)
            row += f' {base.median_s / r.median_s:.2f}x | {efficiency:.2f} |'
        lines.append(row)
    return '\n'.join(lines)


def cpu_isa_flags(cpuinfo: str = '/proc/cpuinfo') -> Optional[List[str]]:
    """Which of :data:`ISA_FLAGS` the CPU has (None where ``cpuinfo`` cannot be read).

    Example:
        >>> isinstance(cpu_isa_flags(), (list, type(None)))
        True
    """
    try:
        with open(cpuinfo, encoding='utf-8') as f:
            flags = next(
                (line.split(':', 1)[1].split() for line in f if line.startswith('flags')), []
            )
    except OSError:
        return None
    return [flag for flag in ISA_FLAGS if flag in flags]


def environment(settings: Settings) -> dict:
    """What the figures depend on: CPU model and features, threads, library versions,
    dtype, date, load, and the route of the big views' pooling."""
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    env = dict(
        cpu_model=cpu,
        cpu_count=os.cpu_count(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version(),
        dtype=settings.dtype,
        device=settings.device,
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        load_average=list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
        method='interleaved round-robin repeats',
        cpu_isa=cpu_isa_flags(),
        torch_cpu_capability=torch.backends.cpu.get_cpu_capability(),
        pooling_route=route_name(torch.device(settings.device).type),
    )
    if settings.device.startswith('cuda') and torch.cuda.is_available():
        env['gpu'] = torch.cuda.get_device_name(settings.device)
    return env


def write_json(
    path: str, results: Sequence[Result], settings: Settings, force: bool = False
) -> None:
    """Writes settings, environment and results atomically; an existing file needs ``force``.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is False (a ``FileExistsError``).
    """
    payload = dict(
        settings=asdict(settings),
        environment=environment(settings),
        torch=torch.__version__,
        cpu_count=os.cpu_count(),
        results=[asdict(r) for r in results],
    )
    with atomic_output(path, force=force) as tmp, open(tmp, 'w', encoding='utf-8') as f:
        json.dump(payload, f, indent=2)
