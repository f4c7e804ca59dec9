"""Facts about MMAction2 data pipelines that several modules read from configs.

Plain names (no MMAction2 import), so that the torch-only :mod:`smallbig_mm.weights`
reads them as well as the MMAction2 side and the model-zoo tools.
"""

WINDOW_SAMPLERS = ('SampleFrames', 'UniformSample')
"""The frame samplers whose window whole-video inference (:mod:`smallbig_mm.apis`) rebuilds
(``SampleFrames``: ``clip_len`` x ``frame_interval``; ``UniformSample``: segments over the
whole video); the ones this project's configs use."""
FRAME_SAMPLERS = WINDOW_SAMPLERS + ('UniformSampleFrames', 'DenseSampleFrames')
"""MMAction2 transforms that choose a clip's frames (``clip_len``, ``num_clips``): a test
pipeline has exactly one; the model-zoo tools and the hub-folder writer read the clip
length and the number of clips from it."""
