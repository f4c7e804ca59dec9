"""The private names of other libraries this package uses, one module per library.

Private names (a leading underscore, or a private module path) change without notice, so
each is used through the module of its library, which names the versions it was tested
with; ``tests/compat/test_upstream_names.py`` checks that every name exists in the
installed versions and that no other module of the package uses one directly.

- :mod:`smallbig_mm.compat.torch`: PyTorch (imported by the core).
- :mod:`smallbig_mm.compat.timm`: timm (imported by ``timm_models``).
- :mod:`smallbig_mm.compat.mmengine`: MMEngine (imported by ``mmaction``, ``cli`` and,
  lazily, ``weights``); imports nothing of it before a function is called.
- :mod:`smallbig_mm.compat.mmaction`: MMAction2 (imported by ``mmaction``); likewise.

This ``__init__`` imports none of them.
"""
