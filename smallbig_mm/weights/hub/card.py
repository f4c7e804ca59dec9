"""The model card (``README.md`` with Hub YAML front matter) of a hub folder."""
import json
from typing import Any, Dict, Mapping, Optional, Protocol


class HubFolderFacts(Protocol):
    """What the card reads of the writer's summary (folder.py's ``HubFolderSummary``)."""
    architecture: str
    model_args: Dict[str, Any]
    args_from: str
    num_parameters: int
    gmacs: Optional[float]
    training: str

CITATION = '''@inproceedings{li2020smallbignet,
  title     = {SmallBigNet: Integrating Core and Contextual Views for Video Classification},
  author    = {Li, Xianhang and Wang, Yali and Zhou, Zhipeng and Qiao, Yu},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2020},
  note      = {arXiv:2006.14582}
}'''
"""The paper's BibTeX entry, quoted in every card."""


def model_card(out_name: str, config: Mapping[str, Any], summary: HubFolderFacts,
               license_id: str, src_name: str) -> str:
    """The card's Markdown: front matter, training, model, input, usage and citation.

    Args:
        out_name: the folder's name (the model's name in the usage lines).
        config: the folder's ``config.json`` content (``pretrained_cfg``, ``video_input``,
            ``num_classes``).
        summary: what the writer found (architecture, ``model_args``, counts, training).
        license_id: the Hub license identifier.
        src_name: the converted checkpoint's file name.
    """
    cfg = dict(config['pretrained_cfg'], **config['video_input'])
    size = cfg['input_size']
    frames, interval = cfg.get('num_frames'), cfg.get('frame_interval')
    macs = f'{summary.gmacs:.2f}' if summary.gmacs is not None else 'not counted'
    classes = config['num_classes'] or 'none (a backbone: features only)'
    lines = [
        '---',
        'library_name: timm',
        f'license: {license_id}',
        'pipeline_tag: video-classification',
        'tags:',
        '- video-classification',
        '- timm',
        '- smallbignet',
        '- smallbig-mm',
        '---',
        '',
        f'# {out_name}',
        '',
        f'A SmallBigNet video classifier (`{summary.architecture}`, a timm model of the '
        f'smallbig-mm package), converted from `{src_name}` with '
        '`tools/convert_checkpoint.py --to hf`.',
        '',
        '## How the weights were trained',
        '',
        summary.training,
        '',
        '## Model',
        '',
        f'- architecture: `{summary.architecture}` with `model_args` (from {summary.args_from}):',
        f'  `{json.dumps(summary.model_args)}`',
        f'- classes: {classes}',
        f'- parameters: {summary.num_parameters:,} (norm running statistics not counted)',
        f'- GMACs per clip of {frames or "?"} x {size[1]} x {size[2]}: {macs} '
        '(multiply-accumulates of convolutions and the classifier)',
        '',
        '## Input',
        '',
        f'- clips (N, {size[0]}, T, {size[1]}, {size[2]}), RGB, values in [0, 1] normalised '
        f'with mean {list(cfg["mean"])} and std {list(cfg["std"])}',
        f'- frames per clip T: {frames if frames else "unknown"}; frame interval: '
        f'{interval if interval else "unknown"}',
        f'- test crop: {cfg.get("test_crop", "unknown")} of {size[1]} x {size[2]}'
        + (f' after resizing the short side to {cfg["resize_short_side"]}'
           if cfg.get('resize_short_side') else ''),
        '',
        '## Usage',
        '',
        '```python',
        'import timm, torch',
        'import smallbig_mm  # registers the smallbig_* models with timm',
        '',
        f"model = timm.create_model('local-dir:{out_name}', pretrained=True).eval()",
        f"# or, once uploaded: timm.create_model('hf-hub:ORG/{out_name}', pretrained=True)",
        f'logits = model(torch.randn(1, {size[0]}, {frames or 8}, {size[1]}, {size[2]}))',
        '```',
        '',
        '## Citation',
        '',
        '```bibtex',
        CITATION,
        '```',
        '',
    ]
    return '\n'.join(lines)
