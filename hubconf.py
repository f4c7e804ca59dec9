"""torch.hub entry points: the SmallBig-ResNet timm models, optionally with weights.

Dependencies: torch and timm (the models are timm models; ``huggingface_hub`` only for
``hf-hub:`` weights). Random initialisation unless ``weights`` is given.

Example::

    import torch
    model = torch.hub.load('/path/to/smallbig-mm', 'smallbig_resnet50', source='local')
    model = torch.hub.load('/path/to/smallbig-mm', 'smallbig_resnet50', source='local',
                           weights='smallbig_r50_k400')  # a hub folder or a checkpoint file

``weights`` takes what :func:`smallbig_mm.weights.sources.resolve_pretrained` takes: a
checkpoint file of any layout, a hub folder written by ``tools/convert_checkpoint.py --to
hf`` (its ``config.json`` ``model_args`` then set the architecture), an ``https://`` URL
or ``hf-hub:ORG/NAME``. Without ``num_classes``, the model takes the checkpoint's number
of classes; with another ``num_classes`` it keeps a fresh classifier and logs the keys
it dropped (fine-tuning).
"""
dependencies = ['torch', 'timm']


def _create(name: str, weights=None, **kwargs):
    import json
    import logging
    import os

    import timm

    import smallbig_mm  # noqa: F401  (registers the smallbig_* models with timm)
    from smallbig_mm.weights.pretrained import classifier_classes, load_pretrained
    from smallbig_mm.weights.sources import fetch_checkpoint

    if weights is None:
        return timm.create_model(name, **kwargs)
    folder = str(weights)[len('local-dir:'):] if str(weights).startswith('local-dir:') \
        else str(weights)
    config = os.path.join(folder, 'config.json')
    if os.path.isdir(folder) and os.path.isfile(config):
        with open(config, encoding='utf-8') as f:
            kwargs = dict(json.load(f).get('model_args', {}), **kwargs)
    ckpt = fetch_checkpoint(weights)
    classes = classifier_classes(ckpt.state_dict)
    if 'num_classes' not in kwargs and classes is not None:
        kwargs['num_classes'] = classes
    model = timm.create_model(name, **kwargs)
    load_pretrained(model, ckpt, logger=logging.getLogger('smallbig_mm.hubconf'))
    return model


def _entry(name: str):
    def entry(weights=None, **kwargs):
        return _create(name, weights, **kwargs)
    entry.__name__ = name
    entry.__doc__ = (f'``timm.create_model({name!r}, **kwargs)``; random init, or ``weights``: '
                     'a checkpoint file, a hub folder, a URL or hf-hub:ORG/NAME.')
    return entry


smallbig_resnet23 = _entry('smallbig_resnet23')
smallbig_resnet50 = _entry('smallbig_resnet50')
smallbig_resnet101 = _entry('smallbig_resnet101')
smallbig_resnet50_extra = _entry('smallbig_resnet50_extra')
smallbig_c2d_resnet50 = _entry('smallbig_c2d_resnet50')
smallbig_3d_resnet50 = _entry('smallbig_3d_resnet50')
