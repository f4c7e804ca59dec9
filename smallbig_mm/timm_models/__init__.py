"""timm adapter: the ``smallbig_*`` model factories (needs timm).

``import smallbig_mm`` imports this package when timm is installed, so
``timm.create_model('smallbig_resnet50')`` works after it.
"""

from .smallbig_timm import SmallBigNet, SmallBigResNetClassifier, checkpoint_filter_fn

__all__ = ['SmallBigNet', 'SmallBigResNetClassifier', 'checkpoint_filter_fn']
