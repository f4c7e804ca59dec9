"""The private names of MMEngine that the package uses.

Tested with mmengine 0.10.7 (the stack of ``tools/setup_env.sh``).
MMEngine is imported inside the functions, so that importing this module needs torch
only (``cli`` and ``weights`` call them only where MMEngine is installed). MMAction2's
names are in :mod:`smallbig_mm.compat.mmaction`.
"""

from typing import Any, Dict, Optional

TESTED_WITH = 'mmengine 0.10.7'
PRIVATE_NAMES = (
    'mmengine.config.Config._cfg_dict',  # the ConfigDict a Config wraps (edited in place)
    'mmengine.dist.utils._init_dist_pytorch',  # replaced by patches/cpu_distributed.py
    'mmengine.logging.MMLogger._instance_dict',  # every logger made so far
    'mmengine.logging.HistoryBuffer._statistics_methods',  # names in a checkpoint's history
    'mmengine.optim.AmpOptimWrapper._scale_update_param',  # the loss scaler's update value
    'mmengine.runner.CheckpointLoader._schemes',  # the reader per path prefix
    'mmengine.runner.Runner._load_from',  # the checkpoint a run starts from
    'mmengine.runner.Runner._resume',  # whether that start is a resume
    'mmengine.runner.Runner._train_loop',  # the loop or its config, before it is built
    'mmengine.runner.EpochBasedTrainLoop._epoch',  # the epoch counter (read: .epoch)
    'mmengine.runner.checkpoint._load_checkpoint',  # reads a file (patches/checkpoint_fit.py)
    'mmengine.runner.checkpoint._load_checkpoint_to_model',  # state dict -> model (same)
)
LOAD_CHECKPOINT = '_load_checkpoint'
"""The function of ``mmengine.runner.checkpoint`` (and ``.runner``) that reads a file."""
LOAD_CHECKPOINT_TO_MODEL = '_load_checkpoint_to_model'
"""The function that puts a read checkpoint's state dict into a model."""
INIT_DIST_PYTORCH = '_init_dist_pytorch'
"""The name of the function in ``mmengine.dist.utils`` that ``--launcher pytorch`` calls."""


def runner_load_from(runner: Any) -> Optional[str]:
    """The checkpoint the runner will load or resume from (``load_from``, ``--resume PATH``)."""
    return runner._load_from


def set_runner_load_from(runner: Any, path: Optional[str]) -> None:
    """Makes the runner start from ``path`` (before it loads or resumes)."""
    runner._load_from = path


def runner_resumes(runner: Any) -> bool:
    """Whether the runner resumes training (``--resume``) rather than only loading weights."""
    return bool(getattr(runner, '_resume', False))


def runner_train_loop(runner: Any) -> Any:
    """The runner's training loop: built, a config dict, or None for a test-only runner."""
    return getattr(runner, '_train_loop', None)


def logger_instances() -> Dict[str, Any]:
    """Every MMLogger made so far, by name (MMEngine's registry of instances)."""
    from mmengine.logging import MMLogger

    return MMLogger._instance_dict


def history_statistics() -> Any:
    """The statistics a HistoryBuffer records, whose names its checkpoints carry."""
    from mmengine.logging import HistoryBuffer

    return HistoryBuffer._statistics_methods


def checkpoint_schemes() -> Dict[str, Any]:
    """MMEngine's checkpoint readers by path prefix ('' for local files)."""
    from mmengine.runner import CheckpointLoader

    return CheckpointLoader._schemes


def config_dict(cfg: Any) -> Any:
    """The ``ConfigDict`` an MMEngine ``Config`` holds (changes to it change the config);
    any other mapping as it is."""
    return getattr(cfg, '_cfg_dict', cfg)


def finish_train_epoch(loop: Any) -> None:
    """Advances an ``EpochBasedTrainLoop``'s epoch counter, as its ``run_epoch`` does last
    (the public ``loop.epoch`` has no setter)."""
    loop._epoch += 1


def set_amp_scale_update(wrapper: Any, value: Any) -> None:
    """Sets what an ``AmpOptimWrapper`` passes to ``loss_scaler.update`` after each step
    (``None``: the scaler's own rule)."""
    wrapper._scale_update_param = value
