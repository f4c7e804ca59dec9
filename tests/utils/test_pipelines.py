"""smallbig_mm.utils.pipelines: the sampler names are MMAction2's, and the configs use them."""

import re
from pathlib import Path

import pytest

from smallbig_mm.utils.pipelines import FRAME_SAMPLERS, WINDOW_SAMPLERS

REPO = Path(__file__).resolve().parents[2]


def test_window_samplers_are_frame_samplers():
    assert set(WINDOW_SAMPLERS) <= set(FRAME_SAMPLERS)
    assert len(set(FRAME_SAMPLERS)) == len(FRAME_SAMPLERS)


def test_every_dataset_config_samples_with_a_window_sampler():
    bases = sorted((REPO / 'configs' / '_base_' / 'datasets').glob('*.py'))
    configs = bases + sorted((REPO / 'configs' / 'recognition').rglob('*.py'))
    used = set()
    for config in configs:
        used.update(
            re.findall(r"type='(\w*Sample(?:Frames)?)'", config.read_text(encoding='utf-8'))
        )
    assert used and used <= set(WINDOW_SAMPLERS), used


@pytest.mark.mmaction
def test_every_name_is_a_registered_mmaction2_transform():
    import mmaction.datasets  # noqa: F401  (registers the transforms)
    from mmaction.registry import TRANSFORMS

    for name in FRAME_SAMPLERS:
        assert TRANSFORMS.get(name) is not None, name
