"""The MMAction2 backbone's ``pretrained=``: a hub folder (--to hf), also with pretrained2d=True."""

import timm
import torch

import smallbig_mm.mmaction  # noqa: F401  (registers the backbone)
from smallbig_mm.mmaction.backbone import SmallBigResNetBackbone
from smallbig_mm.weights.hub import write_hub_folder

torch.set_num_threads(1)


def test_backbone_takes_a_hub_folder(tmp_path):
    args = dict(depth=23, base_channels=8, block_types=('2d', 'smallbig', 'smallbig', '3d'))
    model = timm.create_model('smallbig_resnet23', num_classes=6, **args).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'w.pth')
    write_hub_folder(str(tmp_path / 'w.pth'), str(tmp_path / 'hub'))

    class Log:
        lines = []

        def info(self, line):
            self.lines.append(line)

        warning = info

    for pretrained2d in (True, False):  # a 3D checkpoint loads either way
        backbone = SmallBigResNetBackbone(
            pretrained=str(tmp_path / 'hub'), pretrained2d=pretrained2d, **args
        )
        from smallbig_mm.weights import load_weights

        report = load_weights(backbone, backbone.pretrained, inflate_2d=pretrained2d, logger=Log())
        assert "the model has no classifier: dropped the checkpoint's (fc." in report.line()
        assert Log.lines[-1] == report.line()
        backbone.init_weights()
        backbone.eval()
        x = torch.randn(1, 3, 4, 32, 32)
        with torch.no_grad():
            torch.testing.assert_close(backbone(x), model.forward_features(x), rtol=0, atol=0)
