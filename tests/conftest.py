"""Fixtures shared by every test folder (helpers live in tests/helpers.py)."""
import pytest
import torch

import smallbig_mm.mmaction  # noqa: F401  (stack fixes and registration before any test)
from smallbig_mm.data.motion import MotionSettings, generate_motion_dataset

collect_ignore = ['configs', 'assets']  # MMEngine config files and test data, not test modules

# One thread per test process: predictable on CI's 2 cores, where the end-to-end tests
# also start subprocesses.
torch.set_num_threads(1)


@pytest.fixture(scope='session')
def motion_data(tmp_path_factory):
    """8 training and 4 validation clips of 8 frames at 32x32, with annotation lists."""
    return generate_motion_dataset(tmp_path_factory.mktemp('motion') / 'data',
                                   MotionSettings(num_train=8, num_val=4))
