"""ONNX export (dynamic batch and frames, standard ops, onnxruntime agreement), the
export tool, and the torch.export recipe, on tiny models."""

import os
import sys

import pytest
import torch

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')
timm = pytest.importorskip('timm')
import onnx  # noqa: E402

import smallbig_mm  # noqa: E402,F401  (registers the timm models)
from helpers import REPO, TINY_CONFIG, randomize_norms, run_main_status, run_tool  # noqa: E402
from smallbig_mm.cli import export as export_cli  # noqa: E402
from smallbig_mm.deploy import (  # noqa: E402
    ExportError,
    build_clip_model,
    export_onnx,
    export_program,
    non_standard_ops,
    onnx_max_rel_diff,
)
from smallbig_mm.deploy.onnx_export import static_clip_dims  # noqa: E402
from smallbig_mm.utils.files import OutputExistsError  # noqa: E402

SIZE = 32
TOOL = str(REPO / 'tools' / 'deployment' / 'export_onnx.py')


def tiny_classifier() -> torch.nn.Module:
    """SmallBig-R23 at width 8 with 5 classes and non-trivial norms (big views count)."""
    torch.manual_seed(0)
    model = timm.create_model('smallbig_resnet23', base_channels=8, num_classes=5)
    randomize_norms(model)
    return model.eval()


@pytest.fixture(scope='module')
def model():
    return tiny_classifier()


@pytest.fixture(scope='module', params=[4, 8], ids=['T4', 'T8'])
def exported(request, model, tmp_path_factory):
    """(clip length traced, path of the ONNX file)."""
    path = tmp_path_factory.mktemp('onnx') / f'tiny_t{request.param}.onnx'
    export_onnx(model, str(path), frames=request.param, size=SIZE)
    return request.param, str(path)


def test_onnxruntime_matches_at_both_clip_lengths(model, exported):
    frames, path = exported
    other = 8 if frames == 4 else 4
    clips = [
        torch.randn(2, 3, frames, SIZE, SIZE),
        torch.randn(3, 3, other, SIZE, SIZE),
        torch.randn(1, 3, 1, SIZE, SIZE),
    ]
    diffs = onnx_max_rel_diff(path, model, clips)
    assert max(diffs) < 1e-4, diffs


def test_graph_is_standard_onnx_with_dynamic_batch_and_frames(exported):
    _, path = exported
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    assert non_standard_ops(proto) == []
    assert {node.domain for node in proto.graph.node} <= {'', 'ai.onnx'}
    assert {imp.domain for imp in proto.opset_import} <= {'', 'ai.onnx'}
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert static_clip_dims(proto) == []
    assert [d.dim_value for d in dims[1:2] + dims[3:]] == [3, SIZE, SIZE]
    ops = {node.op_type for node in proto.graph.node}
    # the units as written: pooling and the conv3 big view's temporal max as standard ops
    assert {'MaxPool', 'ReduceMax', 'Conv', 'BatchNormalization'} <= ops


def test_non_standard_op_is_reported():
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            [
                onnx.helper.make_node('Relu', ['x'], ['y']),
                onnx.helper.make_node('FusedConv', ['y'], ['z'], domain='com.microsoft'),
            ],
            'g',
            [onnx.helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1])],
            [onnx.helper.make_tensor_value_info('z', onnx.TensorProto.FLOAT, [1])],
        )
    )
    assert non_standard_ops(proto) == ['com.microsoft::FusedConv']


class MeanOverClip(torch.nn.Module):
    """A trivial clip classifier, quick to export."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, 1)

    def forward(self, x):
        return self.conv(x).mean((2, 3, 4))


def test_failed_check_and_existing_file_leave_files_alone(tmp_path):
    model = MeanOverClip().eval()
    target = tmp_path / 'model.onnx'
    target.write_text('mine')
    with pytest.raises(OutputExistsError):
        export_onnx(model, str(target), frames=2, size=SIZE)

    def reject(path):
        assert os.path.getsize(path) > 0  # the complete temporary file
        raise ExportError('too far off')

    with pytest.raises(ExportError, match='too far off'):
        export_onnx(model, str(target), frames=2, size=SIZE, force=True, verify=reject)
    assert target.read_text() == 'mine'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model.onnx']


@pytest.mark.mmaction
def test_config_scores_are_the_recognizers_prediction():
    """The exported module gives what Recognizer3D.predict gives for one clip (softmax)."""
    from mmaction.structures import ActionDataSample

    clip_model = build_clip_model(str(TINY_CONFIG))
    assert clip_model.scores == 'softmax' and clip_model.num_classes == 2
    assert clip_model.mean == [128.0] * 3 and clip_model.std == [64.0] * 3
    randomize_norms(clip_model.module)
    recognizer = clip_model.module  # shares the recognizer's modules
    clips = torch.randn(3, 3, 4, SIZE, SIZE)
    with torch.no_grad():
        scores = recognizer(clips)
        full = build_recognizer_of(clip_model)
        samples = full(clips.unsqueeze(1), [ActionDataSample() for _ in range(3)], mode='predict')
    expected = torch.stack([s.pred_score for s in samples])
    torch.testing.assert_close(scores, expected)
    assert torch.allclose(scores.sum(1), torch.ones(3))


def build_recognizer_of(clip_model):
    """A Recognizer3D holding the same backbone and head (the wrapper keeps no recognizer)."""
    from mmaction.models.recognizers import Recognizer3D

    recognizer = Recognizer3D(
        backbone=dict(type='SmallBigResNet', depth=23, base_channels=4),
        cls_head=dict(type='I3DHead', in_channels=128, num_classes=2, average_clips='prob'),
    )
    recognizer.backbone = clip_model.module.backbone
    recognizer.cls_head = clip_model.module.cls_head
    return recognizer.eval()


@pytest.mark.mmaction
def test_tool_exports_a_config_and_a_timm_name(tmp_path, model):
    ckpt = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = tmp_path / 'timm.onnx'
    result = run_tool(
        [
            sys.executable,
            TOOL,
            'smallbig_resnet23',
            '--checkpoint',
            str(ckpt),
            '--out',
            str(out),
            '--frames',
            '4',
            '--size',
            str(SIZE),
            '--model-kwargs',
            'base_channels=8',
        ],
        cwd=tmp_path,
    )
    assert 'max relative difference' in result.stdout and 'at T=2' in result.stdout
    assert '(N, 5) logits' in result.stdout  # classes from the checkpoint
    assert onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[2].dim_param
    import json

    from smallbig_mm.utils.provenance import sha256_file

    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    record = json.loads(props['provenance'])  # where the file came from
    assert record['inputs']['checkpoint']['sha256'] == sha256_file(ckpt)
    assert record['settings']['frames'] == 4 and record['inputs']['model'] == 'smallbig_resnet23'

    out = tmp_path / 'config.onnx'  # the same tool in this process from here on
    result = run_main_status(
        'smallbig-export', [TINY_CONFIG, '--out', out, '--frames', '4', '--size', SIZE], tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert '(N, 2) softmax' in result.stdout and 'initial (untrained) weights' in result.stdout
    again = run_main_status('smallbig-export', [TINY_CONFIG, '--out', out], tmp_path)
    assert again.returncode == 1 and again.stderr.strip().count('\n') == 0
    assert again.stderr.startswith('error: ') and '--force' in again.stderr


@pytest.mark.parametrize(
    'argv, message',
    [
        (['no_such_model'], 'neither a .py config file nor a timm model name'),
        (['resnet18'], 'not a SmallBig video model'),
        (['smallbig_resnet23', '--checkpoint', 'missing.pth'], 'checkpoint file not found'),
        (['smallbig_resnet23', '--checkpoint', 'BAD'], 'does not fit the model'),
        (['smallbig_resnet23', '--model-kwargs', 'widht=8'], "unexpected keyword argument 'widht'"),
        (['missing_config.py'], 'config file not found'),
    ],
)
def test_tool_user_errors_are_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if 'BAD' in argv:  # a checkpoint of another width
        other = timm.create_model('smallbig_resnet23', base_channels=4, num_classes=5)
        torch.save(other.state_dict(), tmp_path / 'bad.pth')
        argv = [a.replace('BAD', 'bad.pth') for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        export_cli.main(argv + ['--out', 'x.onnx', '--size', str(SIZE)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert err.startswith('error: ') and err.strip().count('\n') == 0 and message in err
    assert not (tmp_path / 'x.onnx').exists()


def test_torch_export_recipe_has_dynamic_batch_and_frames(model, tmp_path):
    program = export_program(model, frames=4, size=SIZE)
    path = tmp_path / 'tiny.pt2'
    torch.export.save(program, str(path))
    loaded = torch.export.load(str(path)).module()
    for batch, frames in ((2, 4), (1, 8), (3, 1)):
        clips = torch.randn(batch, 3, frames, SIZE, SIZE)
        with torch.no_grad():
            torch.testing.assert_close(loaded(clips), model(clips), rtol=1e-4, atol=1e-5)


def test_tool_fails_above_the_tolerance_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import smallbig_mm.deploy as deploy

    quick = deploy.ClipModel(
        MeanOverClip().eval(), 'logits', 4, [0.0] * 3, [1.0] * 3, '0-1', 'quick'
    )
    monkeypatch.setattr(deploy, 'build_clip_model', lambda *args: quick)
    monkeypatch.setattr(export_cli, 'TOLERANCE', -1.0)  # any difference is too large
    out = tmp_path / 'quick.onnx'
    with pytest.raises(SystemExit) as exit_info:
        export_cli.main(['quick', '--out', str(out), '--frames', '4', '--size', str(SIZE)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.strip().count('\n') == 0
    assert 'onnxruntime differs from PyTorch by' in err and 'at T=4' in err and 'at T=2' in err
    assert list(tmp_path.iterdir()) == []


def test_tool_debug_keeps_the_traceback(capsys):
    with pytest.raises(SystemExit) as exit_info:
        export_cli.main(['no_such_model', '--out', 'x.onnx', '--log-level', 'DEBUG'])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert 'Traceback' in err and 'ExportError' in err
    assert err.strip().splitlines()[-1].startswith("error: 'no_such_model' is neither a .py config")


@pytest.mark.parametrize(
    'argv, message',
    [
        (['--opset', '13'], 'opset 18 and newer'),
        (['--frames', '1'], '--frames must be 2..256'),
        (['--size', '100000'], '--size must be at most 1024'),
    ],
)
def test_flags_that_cannot_work_are_refused_when_parsed(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        export_cli.parse_args(['smallbig_resnet23', '--out', 'x.onnx'] + argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_the_file_has_the_opset_asked_for(tmp_path):
    from smallbig_mm.deploy.onnx_export import opset_of

    path = tmp_path / 'opset20.onnx'
    export_onnx(MeanOverClip().eval(), str(path), frames=4, size=SIZE, opset=20)
    assert opset_of(onnx.load(str(path))) == 20
    with pytest.raises(ExportError, match='asked for opset 17, but the exporter wrote opset 18'):
        export_onnx(
            MeanOverClip().eval(), str(tmp_path / 'opset17.onnx'), frames=4, size=SIZE, opset=17
        )
    assert not (tmp_path / 'opset17.onnx').exists()
