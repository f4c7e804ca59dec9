"""The model card (``README.md`` with Hub YAML front matter) of a hub folder.

The front matter is built with ``huggingface_hub``'s :class:`~huggingface_hub.ModelCardData`
(``library_name``, ``license``, ``datasets``, ``base_model``, ``metrics``, ``tags`` and the
class names as ``label_names``), so the Hub and :class:`huggingface_hub.ModelCard` read it
back. There is no ``pipeline_tag``: the Hub's ``video-classification`` pipeline loads
``transformers`` models, and this is a timm model that needs ``import smallbig_mm``. No
local path appears: files are named by their base name.
"""

import json
from typing import Any, Dict, List, Mapping, Optional, Protocol

from ..errors import CheckpointError
from ..meta import WeightsMeta


class HubFolderFacts(Protocol):
    """What the card reads of the writer's summary (folder.py's ``HubFolderSummary``)."""

    architecture: str
    model_args: Dict[str, Any]
    args_from: str
    num_parameters: int
    gmacs: Optional[float]


CITATION = """@inproceedings{li2020smallbignet,
  title     = {SmallBigNet: Integrating Core and Contextual Views for Video Classification},
  author    = {Li, Xianhang and Wang, Yali and Zhou, Zhipeng and Qiao, Yu},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2020},
  note      = {arXiv:2006.14582}
}"""
"""The paper's BibTeX entry, quoted in every card."""
TAGS = ['video-classification', 'timm', 'smallbignet', 'smallbig-mm']
METRIC_NAMES = {'AccMetric': 'accuracy', 'ConfusionMatrix': 'confusion_matrix'}
"""MMAction2 evaluator types -> Hub metric ids (``metrics`` of the card)."""


def card_data(
    meta: WeightsMeta, license_id: Optional[str], base_model: Optional[str], metrics: List[str]
):
    """The :class:`~huggingface_hub.ModelCardData` of the card's front matter.

    Raises:
        CheckpointError: ``huggingface_hub`` is not installed.
    """
    try:
        from huggingface_hub import ModelCardData
    except ImportError:
        raise CheckpointError(
            "writing a hub folder needs huggingface_hub: pip install 'smallbig-mm[hub]'"
        ) from None
    data = ModelCardData(
        library_name='timm',
        license=license_id,
        base_model=base_model,
        datasets=[meta.provenance.dataset] if meta.provenance.dataset else None,
        metrics=metrics or None,
        tags=list(TAGS),
    )
    if meta.classes:  # a field of timm's cards, not one ModelCardData names
        data['label_names'] = list(meta.classes)
    return data


def _input_lines(meta: WeightsMeta) -> List[str]:
    spec = meta.input
    mean, std = spec.scaled(1)
    crop = f'{spec.test_crop[0]} x {spec.test_crop[1]}'
    sampling = (
        f'{spec.num_frames} frames, {spec.frame_interval} apart'
        if spec.sampling == 'dense'
        else f'{spec.num_frames} segments over the whole video, one frame from each'
    )
    return [
        f'- clips (N, 3, T, {spec.test_crop[0]}, {spec.test_crop[1]}), {spec.channel_order}, '
        f'values in [0, 1] normalised with mean {list(mean)} and std {list(std)} (on 0-255 '
        f'pixels: mean {list(spec.scaled(255)[0])}, std {list(spec.scaled(255)[1])})',
        f'- frames per clip: {sampling} ({spec.sampling} sampling)',
        (
            f'- test: resize the short side to {spec.resize_short_side}, '
            if spec.resize_short_side
            else '- test: no resize, '
        )
        + f'crop {crop}; {spec.test_clips} clip(s) x {spec.test_crops} crop(s) per video',
        f'- training crop: {spec.train_crop[0]} x {spec.train_crop[1]}'
        if spec.train_crop
        else '- training crop: unknown',
    ]


def model_card(
    out_name: str,
    config: Mapping[str, Any],
    summary: HubFolderFacts,
    meta: WeightsMeta,
    license_id: Optional[str] = None,
    base_model: Optional[str] = None,
    metrics: Optional[List[str]] = None,
    recorded: bool = True,
) -> str:
    """The card's Markdown: front matter, training, model, input, usage and citation.

    Args:
        out_name: the folder's name (the model's name in the usage lines).
        config: the folder's ``config.json`` content.
        summary: what the writer found (architecture, ``model_args``, counts).
        meta: the weights record.
        license_id: the Hub license identifier; None leaves it out (not stated).
        base_model: the Hub id of the weights these were fine-tuned from, if any.
        metrics: Hub metric ids the weights were evaluated with.
        recorded: False when the checkpoint records no input (``meta`` holds timm's
            defaults, and the card says so).
    """
    from huggingface_hub import ModelCard

    spec, prov = meta.input, meta.provenance
    macs = f'{summary.gmacs:.4g}' if summary.gmacs is not None else 'not counted'
    classes = config['num_classes'] or 'none (a backbone: features only)'
    names = (
        ', '.join(meta.classes[:20]) + (' ...' if len(meta.classes) > 20 else '')
        if meta.classes
        else 'not recorded'
    )
    trained = [
        f'- config: `{prov.config}`' if prov.config else '- config: unknown',
        f'- dataset: {prov.dataset or "unknown"}',
        f'- epochs: {prov.epochs if prov.epochs is not None else "unknown"}'
        + (f' of {prov.max_epochs}' if prov.max_epochs else ''),
        f'- written: {prov.date or "unknown"} by smallbig-mm '
        f'{prov.package_version or "(version unknown)"}',
    ]
    body = [
        f'# {out_name}',
        '',
        f'A SmallBigNet video classifier (`{summary.architecture}`, a timm model of the '
        'smallbig-mm package), written with `smallbig-convert --to hf`.',
        '',
        '## How the weights were trained',
        '',
        *trained,
        '',
        '## Model',
        '',
        f'- architecture: `{summary.architecture}` with `model_args` (from {summary.args_from}):',
        f'  `{json.dumps(summary.model_args)}`',
        f'- classes: {classes}; names: {names}',
        f'- parameters: {summary.num_parameters:,} (norm running statistics not counted)',
        f'- GMACs per clip of {spec.num_frames} x {spec.test_crop[0]} x {spec.test_crop[1]}: '
        f'{macs} (multiply-accumulates of convolutions and the classifier)',
        '',
        '## Input',
        '',
        *(
            []
            if recorded
            else [
                "The checkpoint records no input: timm's defaults are "
                'assumed below. Write the folder again with `--config CFG` '
                '(the training config) or `--input KEY=VALUE`.',
                '',
            ]
        ),
        *_input_lines(meta),
        '',
        *(
            [
                'The full record is `weights_meta` in `config.json`; `pretrained_cfg` holds the '
                "same input in timm's fields.",
                '',
            ]
            if recorded
            else []
        ),
        '## Usage',
        '',
        '```python',
        'import timm, torch',
        'import smallbig_mm  # registers the smallbig_* models with timm',
        '',
        f"model = timm.create_model('local-dir:{out_name}', pretrained=True).eval()",
        f"# or, once uploaded: timm.create_model('hf-hub:ORG/{out_name}', pretrained=True)",
        f'logits = model(torch.randn(1, 3, {spec.num_frames}, {spec.test_crop[0]}, '
        f'{spec.test_crop[1]}))',
        '',
        '# whole videos, preprocessed as recorded:',
        'from smallbig_mm.apis import from_timm, infer_video, open_video',
        f"video_model = from_timm('{summary.architecture}', '{out_name}')",
        "scores = infer_video(video_model, open_video('video.mp4')).video_scores",
        '```',
        '',
        '## Citation',
        '',
        '```bibtex',
        CITATION,
        '```',
        '',
    ]
    data = card_data(meta, license_id, base_model, list(metrics or []))
    return str(ModelCard(f'---\n{data.to_yaml()}\n---\n\n' + '\n'.join(body)))
