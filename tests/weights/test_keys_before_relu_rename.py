"""Checkpoints written before the block activations were split still load.

Up to commit a8194d9 a block had one activation module, ``act``, called three times; it is
now ``relu1``, ``relu2`` and ``relu`` (smallbig_mm/models/bottleneck.py). Activations
have no parameters, so no key should change. ``tests/assets/keys_before_relu_rename.txt``
lists every key and shape of a state dict that the earlier code wrote (depth 23, width 8,
the extra unit in res4 and res5). A checkpoint with those keys, each tensor holding its
own values, is written in every 3D layout and loaded with the exact policy.
"""

from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import torch

from smallbig_mm.models import SmallBigResNet
from smallbig_mm.weights import load_weights
from smallbig_mm.weights.layouts import LAYOUTS, from_timm_state_dict

ASSET = Path(__file__).resolve().parents[1] / 'assets' / 'keys_before_relu_rename.txt'
NUM_CLASSES = 5


def recorded_keys() -> List[Tuple[str, Tuple[int, ...]]]:
    """(key, shape) pairs of the earlier state dict, in its order; '-' is a 0-dim tensor."""
    pairs = []
    for line in ASSET.read_text(encoding='utf-8').splitlines():
        if line.startswith('#') or not line.strip():
            continue
        key, shape = line.split()
        pairs.append((key, () if shape == '-' else tuple(int(s) for s in shape.split('x'))))
    return pairs


def model() -> SmallBigResNet:
    return SmallBigResNet(depth=23, base_channels=8, extra_stages=(False, False, True, True))


def old_checkpoint() -> Dict[str, torch.Tensor]:
    """The earlier keys (timm layout, with a classifier), every tensor distinct."""
    generator = torch.Generator().manual_seed(0)
    state: Dict[str, torch.Tensor] = {}
    for index, (key, shape) in enumerate(recorded_keys()):
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(index, dtype=torch.long)
        else:  # positive, so running variances stay valid
            state[key] = torch.rand(shape, generator=generator) + 0.5
    state['fc.weight'] = torch.randn(NUM_CLASSES, 256, generator=generator)
    state['fc.bias'] = torch.randn(NUM_CLASSES, generator=generator)
    return state


def test_the_state_dict_keys_are_the_earlier_ones():
    current = [(key, tuple(value.shape)) for key, value in model().state_dict().items()]
    assert current == recorded_keys()


def test_the_blocks_have_three_activation_modules_and_no_act():
    block = model().layer4[0]
    assert [name for name, _ in block.named_children() if 'relu' in name or name == 'act'] == [
        'relu1',
        'relu2',
        'relu',
    ]
    assert len({id(block.relu1), id(block.relu2), id(block.relu)}) == 3


@pytest.mark.parametrize('layout', LAYOUTS)
def test_an_earlier_checkpoint_loads_exactly(tmp_path, layout):
    written = old_checkpoint()
    path = tmp_path / f'{layout}.pth'
    torch.save({'state_dict': from_timm_state_dict(written, layout)}, path)
    net = model()
    load_weights(net, str(path), policy='exact')
    loaded = net.state_dict()
    assert loaded.keys() == {k for k in written if not k.startswith('fc.')}
    for key, value in loaded.items():
        assert torch.equal(value, written[key]), key
