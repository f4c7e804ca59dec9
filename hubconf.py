"""torch.hub entry points: the SmallBig-ResNet timm models, optionally with weights.

Dependencies: torch and timm (the models are timm models; ``huggingface_hub`` only for
``hf-hub:`` weights). Random initialisation unless ``weights`` is given.

Example::

    import torch
    model = torch.hub.load('/path/to/smallbig-mm', 'smallbig_resnet50', source='local')
    model = torch.hub.load('/path/to/smallbig-mm', 'smallbig_resnet50', source='local',
                           weights='smallbig_r50_k400')  # a hub folder or a checkpoint file

``weights`` is what :func:`smallbig_mm.timm_models.build.create_with_weights` takes: a
checkpoint file of any layout, a hub folder written by ``smallbig-convert --to hf`` (its
``config.json`` ``model_args`` then set the architecture), an ``https://`` URL or
``hf-hub:ORG/NAME``. Without ``num_classes``, the model takes the checkpoint's number of
classes; with another ``num_classes`` it keeps a fresh classifier and logs the keys it
dropped, once (fine-tuning). The weights' record (a hub folder's ``config.json``
``weights_meta``, a checkpoint's ``meta``) sets ``model.num_frames`` and
``model.pretrained_cfg`` (mean, std, input size, crop, ``label_names``), as timm's own
``local-dir:`` does; it is ``model.weights_meta``.
"""

dependencies = ['torch', 'timm']


def _entry(name: str):
    def entry(weights=None, **kwargs):
        import logging

        from smallbig_mm.timm_models.build import create_with_weights

        return create_with_weights(
            name, weights, logger=logging.getLogger('smallbig_mm.hubconf'), **kwargs
        )

    entry.__name__ = name
    entry.__doc__ = (
        f'``timm.create_model({name!r}, **kwargs)``; random init, or ``weights``: '
        'a checkpoint file, a hub folder, a URL or hf-hub:ORG/NAME.'
    )
    return entry


smallbig_resnet23 = _entry('smallbig_resnet23')
smallbig_resnet50 = _entry('smallbig_resnet50')
smallbig_resnet101 = _entry('smallbig_resnet101')
smallbig_resnet50_extra = _entry('smallbig_resnet50_extra')
smallbig_c2d_resnet50 = _entry('smallbig_c2d_resnet50')
smallbig_3d_resnet50 = _entry('smallbig_3d_resnet50')
