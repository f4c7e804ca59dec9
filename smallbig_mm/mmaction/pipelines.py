"""Facts about MMAction2 data pipelines that several tools read from configs."""

FRAME_SAMPLERS = ('SampleFrames', 'UniformSample', 'UniformSampleFrames', 'DenseSampleFrames')
"""MMAction2 transforms that choose a clip's frames (``clip_len``, ``num_clips``): the
demo needs exactly one, the model-zoo tools read the clip length and the number of
clips from it."""
