"""Native operators (optional): the big views' pooling as ``torch.ops.smallbig_mm``.

- :mod:`.bigview_pool`: loads the C++ extension ``smallbig_mm._native`` (CPU kernels),
  registers the CUDA kernels, shape functions and autograd, and says which route runs.
- :mod:`.triton_kernels`: the CUDA kernels, in Triton.
- ``csrc/``: the C++ sources, built by ``setup.py`` when a compiler is there.
"""
