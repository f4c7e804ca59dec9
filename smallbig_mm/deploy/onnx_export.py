"""ONNX export of a clip classifier with dynamic batch and frames, checked by onnxruntime.

The graph comes from torch's supported exporter (``torch.onnx.export(dynamo=True)``,
which traces with ``torch.export``). While it traces, the SmallBig units run as written
(:func:`~smallbig_mm.models.fastpath.inference.can_fuse` is False under torch.export):
standard MaxPool, Conv and BatchNormalization nodes, valid for any clip length, which
runtimes fold and fuse themselves. The conv3 big view's "all frames" temporal window is
a ReduceMax over the time axis, so T stays symbolic.
"""

import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import torch
from torch import Tensor, nn

from ..utils.files import atomic_output, check_output_path
from .clip_models import ExportError

INPUT_NAME, OUTPUT_NAME = 'clips', 'scores'
STANDARD_DOMAINS = ('', 'ai.onnx')
"""Operator domains of the ONNX standard (default opset)."""
MIN_OPSET = 18
"""torch's exporter (dynamo) writes opset 18 and newer; asked for an older one it writes 18
anyway (measured with torch 2.14: 13 and 17 gave 18; 20, 21 and 23 were written as asked)."""
MAX_FRAMES = 4096
MAX_ONNX_BYTES = 2**31 - 1
"""One protobuf file holds at most 2 GB (SmallBig-R101 in fp32 is ~175 MB)."""


def _require_onnx() -> None:
    missing = [name for name in ('onnx', 'onnxruntime', 'onnxscript') if not _importable(name)]
    if missing:
        raise ExportError(
            f"ONNX export needs {', '.join(missing)}: pip install 'smallbig-mm[deploy]'"
        )


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def dynamic_clip_shapes(frames: int = 8) -> Dict[int, torch.export.Dim]:
    """The dynamic dims of a clip batch (N, 3, T, H, W): batch (0) and frames (2).

    For ``dynamic_shapes=(dynamic_clip_shapes(),)`` in :func:`torch.export.export` or
    ``torch.onnx.export``: positional, so independent of the forward's argument name.
    """
    return {
        0: torch.export.Dim('batch', min=1, max=65536),
        2: torch.export.Dim('frames', min=1, max=max(MAX_FRAMES, frames)),
    }


def export_onnx(
    model: nn.Module,
    path: str,
    frames: int = 8,
    size: int = 224,
    opset: int = 18,
    force: bool = False,
    batch: int = 2,
    metadata: Optional[Mapping[str, str]] = None,
    verify: Optional[Callable[[str], None]] = None,
) -> str:
    """Writes ``model`` (clips -> scores) as an ONNX file with dynamic batch and frames.

    Args:
        model: eval-mode module mapping (N, 3, T, H, W) to (N, classes).
        path: the ``.onnx`` file; written atomically, refused if it exists unless ``force``.
        frames, size: the example clip (T and H = W) traced; H and W are fixed to ``size``.
        opset: the ONNX opset (18 is torch's native; others are converted).
        force: replace an existing file.
        batch: the example batch size (any batch runs afterwards).
        metadata: strings stored in the file's ``metadata_props`` (input spec, ...).
        verify: called with the complete temporary file before it replaces ``path``; an
            exception it raises leaves ``path`` as it was.

    Returns:
        ``path``.

    Raises:
        ExportError: onnx packages missing, batch or frames not dynamic in the graph, a
            non-standard operator in it, or a model over 2 GB.
        OutputExistsError: ``path`` exists and ``force`` is False.

    Example::

        export_onnx(model, 'smallbig.onnx', frames=8, size=224)
    """
    _require_onnx()
    import onnx

    check_output_path(path, force)
    clips = torch.randn(batch, 3, frames, size, size)
    with torch.no_grad():
        program = torch.onnx.export(
            model,
            (clips,),
            dynamo=True,
            dynamic_shapes=(dynamic_clip_shapes(frames),),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            verbose=False,
            external_data=False,
        )
    proto = program.model_proto
    written = opset_of(proto)
    if written != opset:
        raise ExportError(
            f'asked for opset {opset}, but the exporter wrote opset {written}; '
            f'this torch exports opsets {MIN_OPSET} and newer'
        )
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    static = static_clip_dims(proto)
    if static:
        raise ExportError(
            f'the exporter fixed the {" and ".join(static)} of the input clips '
            f"to the example's; they must stay dynamic"
        )
    odd = non_standard_ops(proto)
    if odd:
        raise ExportError(f'the exported graph has non-standard operators: {", ".join(odd)}')
    if proto.ByteSize() > MAX_ONNX_BYTES:
        raise ExportError(
            f'the model is {proto.ByteSize() / 2**30:.1f} GiB; one ONNX file holds at most 2 GiB'
        )
    with atomic_output(path, force=force) as tmp:
        onnx.save_model(proto, tmp)
        if verify is not None:
            verify(tmp)
    return path


def opset_of(model) -> Optional[int]:
    """The standard-domain opset an ``onnx.ModelProto`` imports."""
    return next(
        (entry.version for entry in model.opset_import if entry.domain in STANDARD_DOMAINS), None
    )


def static_clip_dims(model) -> List[str]:
    """Which of batch and frames the graph's input fixed to a number (should be none)."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return [name for axis, name in ((0, 'batch'), (2, 'frames')) if dims[axis].dim_param == '']


def non_standard_ops(model) -> List[str]:
    """``domain::op_type`` of every node (in functions too) outside the ONNX standard.

    Args:
        model: an ``onnx.ModelProto`` or the path of an ``.onnx`` file.
    """
    import onnx

    if isinstance(model, (str, os.PathLike)):
        model = onnx.load(os.fspath(model))
    nodes = list(model.graph.node)
    for function in model.functions:
        nodes += list(function.node)
    local = {function.domain for function in model.functions}
    return sorted(
        {
            f'{n.domain}::{n.op_type}'
            for n in nodes
            if n.domain not in STANDARD_DOMAINS and n.domain not in local
        }
    )


def onnx_max_rel_diff(path: str, model: nn.Module, clips: Sequence[Tensor]) -> List[float]:
    """Runs the ONNX file with onnxruntime (CPU) and PyTorch on each clip batch.

    The difference of a batch is ``max |onnx - torch| / max |torch|``: the largest error
    relative to the largest score (elementwise ratios blow up on scores near zero).

    Returns:
        One relative difference per entry of ``clips``.
    """
    _require_onnx()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
    session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    diffs = []
    for batch in clips:
        with torch.no_grad():
            expected = model(batch).double()
        got = torch.from_numpy(session.run(None, {name: batch.numpy()})[0]).double()
        if got.shape != expected.shape:
            raise ExportError(
                f'onnxruntime returned {tuple(got.shape)} for clips '
                f'{tuple(batch.shape)}; PyTorch {tuple(expected.shape)}'
            )
        scale = expected.abs().max().clamp_min(torch.finfo(torch.float32).tiny)
        diffs.append(float((got - expected).abs().max() / scale))
    return diffs
