"""MMAction2's Grad-CAM (``mmaction.utils.GradCAM``) on the target ``backbone/layer4/<last>/relu``.

The hooked module must be the block's last activation, called once per forward: its
forward hook then sees the block's output (the backbone's last map), and its backward hook
the gradient of the score with respect to that map.
"""

from pathlib import Path

import mmaction
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction.utils import GradCAM

from helpers import PYTHON, REPO, TINY_CONFIG, run_tool

pytestmark = pytest.mark.mmaction

CLIP = (3, 4, 64, 64)  # C, T, H, W
VIS_CAM = Path(mmaction.__file__).parent / '.mim' / 'tools' / 'visualizations' / 'vis_cam.py'


def recognizer() -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            _scope_='mmaction',
            type='Recognizer3D',
            backbone=dict(type='SmallBigResNet', depth=23, base_channels=8),
            cls_head=dict(type='I3DHead', in_channels=256, num_classes=3, average_clips='prob'),
            data_preprocessor=dict(
                type='ActionDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                format_shape='NCTHW',
            ),
        )
    )
    model.init_weights()
    for block in model.backbone.modules():  # non-zero big views: every path carries a gradient
        if hasattr(block, 'big1') and block.big1 is not None:
            for view in (block.big1, block.big2, block.big3):
                torch.nn.init.constant_(view.bn.weight, 0.5)
    return model.eval()


def batch(num_videos: int = 2) -> dict:
    generator = torch.Generator().manual_seed(1)
    inputs = [
        torch.randint(0, 256, (1, *CLIP), generator=generator, dtype=torch.uint8)
        for _ in range(num_videos)
    ]
    return dict(inputs=inputs, data_samples=[ActionDataSample() for _ in range(num_videos)])


def target_name(model) -> str:
    return f'backbone/layer4/{len(model.backbone.layer4) - 1}/relu'


# MMAction2's GradCAM uses torch's non-full backward hook, which torch flags as deprecated
@pytest.mark.filterwarnings('ignore:Using a non-full backward hook:FutureWarning')
def test_gradcam_on_the_last_relu_gives_a_map_of_the_input_size():
    model = recognizer()
    data = batch()
    gradcam = GradCAM(model, target_name(model))
    blended, preds = gradcam(data)
    assert blended.shape == (2, *CLIP[1:], 3)  # B, T, H, W, RGB
    assert preds.shape == (2, 3)
    assert torch.isfinite(blended).all() and blended.min() >= 0 and blended.max() <= 1

    # the hooks saw the backbone's last map and the gradient of the top score on it
    inputs = model.data_preprocessor(data, False)['inputs']
    features = model.backbone(inputs.flatten(0, 1)).detach().requires_grad_(True)
    score = model.cls_head(features).max(dim=-1)[0].sum()
    (gradient,) = torch.autograd.grad(score, features)
    torch.testing.assert_close(gradcam.target_activations, features.detach())
    torch.testing.assert_close(gradcam.target_gradients, gradient)


def test_each_activation_module_runs_once_per_forward():
    model = recognizer()
    calls: dict = {}
    for name, module in model.backbone.named_modules():
        if name.rsplit('.', 1)[-1] in ('relu1', 'relu2', 'relu'):
            module.register_forward_hook(
                lambda m, i, o, name=name: calls.update({name: calls.get(name, 0) + 1})
            )
    with torch.no_grad():
        model.test_step(batch(1))
    assert len(calls) == 3 * 7  # three activations in each of the 1 + 2 + 3 + 1 blocks
    assert set(calls.values()) == {1}


@pytest.mark.skipif(not VIS_CAM.is_file(), reason='this MMAction2 install has no tools folder')
def test_vis_cam_runs_on_the_target_name(tmp_path):
    """MMAction2's own tool, on a video, through a config's test pipeline (2 clips x 3 crops)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    checkpoint = tmp_path / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    target = f'backbone/layer4/{len(model.backbone.layer4) - 1}/relu'
    video = REPO / 'tests' / 'assets' / 'test.avi'
    args = [PYTHON, VIS_CAM, TINY_CONFIG, checkpoint, video, '--device', 'cpu']
    run_tool([*map(str, args), '--target-layer-name', target], cwd=tmp_path)
