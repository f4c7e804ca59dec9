"""The converter against a reference-layout checkpoint written out by hand.

The reference names come from docs/weights.md (xhl-video/SmallBigNet's ``torch.save``
files), not from the converter: ``module.`` in front of every key; ``bigK.1.*`` for our
``bigK.bn.*`` (index 0 of its Sequential is the pooling); ``big4_1.weight``,
``big4_2.0.weight`` and ``big4_2.1.*`` for our ``extra.reduce.weight``,
``extra.expand.weight`` and ``extra.bn.*``. Every tensor holds its own values, so a rule
that crosses two keys of the same shape (big1 and big2 of a block) is caught.
"""

import torch

from smallbig_mm.models import SmallBigResNet
from smallbig_mm.weights import convert_checkpoint, detect_layout, read_checkpoint
from smallbig_mm.weights.layouts import convert_state_dict

# our name in a block -> the reference's, exactly as docs/weights.md lists them
BLOCK_NAMES = {
    'big1.bn.': 'big1.1.',
    'big2.bn.': 'big2.1.',
    'big3.bn.': 'big3.1.',
    'extra.reduce.': 'big4_1.',
    'extra.expand.': 'big4_2.0.',
    'extra.bn.': 'big4_2.1.',
}


def reference_name(ours: str) -> str:
    for mine, theirs in BLOCK_NAMES.items():
        if f'.{mine}' in ours:
            return 'module.' + ours.replace(f'.{mine}', f'.{theirs}')
    return 'module.' + ours


def model(num_classes: int = 5) -> torch.nn.Module:
    """A narrow SmallBig-R23 with the extra unit in every stage and a classifier."""
    core = SmallBigResNet(depth=23, base_channels=4, extra_stages=(True,) * 4)
    return torch.nn.ModuleDict(
        {'core': core, 'fc': torch.nn.Linear(core.num_features, num_classes)}
    )


def ours_state_dict(net) -> dict:
    """The timm layout: core keys and ``fc.*``."""
    state = {
        key[len('core.') :]: value
        for key, value in net.state_dict().items()
        if key.startswith('core.')
    }
    state.update({f'fc.{key}': value for key, value in net['fc'].state_dict().items()})
    return state


def hand_made_reference(shapes: dict) -> dict:
    """A reference state dict with every tensor distinct (i-th tensor: i + 0.001 * arange)."""
    reference = {}
    for index, (ours, value) in enumerate(sorted(shapes.items())):
        if value.dtype != torch.float32:  # num_batches_tracked
            reference[reference_name(ours)] = torch.full_like(value, index)
            continue
        ramp = torch.arange(value.numel(), dtype=torch.float32).reshape(value.shape)
        reference[reference_name(ours)] = index + 1e-3 * ramp
    return reference


def test_the_hand_made_keys_are_the_documented_ones():
    shapes = ours_state_dict(model())
    reference = hand_made_reference(shapes)
    assert 'module.layer2.0.big1.1.weight' in reference
    assert 'module.layer2.0.big4_1.weight' in reference
    assert 'module.layer1.0.big4_2.1.running_var' in reference
    assert not any('.bn.' in key and '.big' in key for key in reference)
    assert detect_layout(reference) == 'reference'


def test_reference_to_ours_puts_each_tensor_where_the_docs_say():
    shapes = ours_state_dict(model())
    reference = hand_made_reference(shapes)
    ours = convert_state_dict(reference, 'timm')
    assert set(ours) == set(shapes)
    for key in shapes:
        assert torch.equal(ours[key], reference[reference_name(key)]), key


def test_ours_to_reference_gives_the_hand_made_keys_and_values():
    shapes = ours_state_dict(model())
    reference = hand_made_reference(shapes)
    ours = {key: reference[reference_name(key)] for key in shapes}
    converted = convert_state_dict(ours, 'reference', source_layout='timm')
    assert set(converted) == set(reference)
    for key, value in reference.items():
        assert torch.equal(converted[key], value), key


def test_a_reference_file_converts_into_a_model_that_loads_it(tmp_path):
    net = model()
    reference = hand_made_reference(ours_state_dict(net))
    src = tmp_path / 'best.pth'
    torch.save({'epoch': 7, 'state_dict': reference, 'best_metric': 0.5}, src)
    convert_checkpoint(str(src), str(tmp_path / 'timm.pth'), to='timm')
    state = read_checkpoint(str(tmp_path / 'timm.pth')).state_dict
    net['core'].load_state_dict({k: v for k, v in state.items() if not k.startswith('fc.')})
    block = net['core'].layer3[1]
    assert torch.equal(block.big2.bn.weight, reference['module.layer3.1.big2.1.weight'])
    assert torch.equal(block.big1.bn.bias, reference['module.layer3.1.big1.1.bias'])
    extra = net['core'].layer3[0].extra
    assert torch.equal(extra.reduce.weight, reference['module.layer3.0.big4_1.weight'])
    assert torch.equal(extra.expand.weight, reference['module.layer3.0.big4_2.0.weight'])
    assert torch.equal(extra.bn.running_mean, reference['module.layer3.0.big4_2.1.running_mean'])
    assert torch.equal(state['fc.weight'], reference['module.fc.weight'])
