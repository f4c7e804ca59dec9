"""The fast path: the same numbers as the units as written, in fewer passes (torch only).

- :mod:`.pooling`: separable max pooling, exact, with -inf borders.
- :mod:`.frame_conv`: per-frame and pointwise convs as 2D convs or batched products.
- :mod:`.inference`: no-autograd units with BatchNorms folded into the shared conv.
- :mod:`.training`: autograd units that keep neither pooled maps nor pooling indices.
"""
