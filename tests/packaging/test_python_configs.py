"""smallbig_mm/configs (the pure-Python configs) is what the generator makes of configs/, and
``smallbig_mm::`` bases read as the same files given by path."""

from pathlib import Path

import pytest

from helpers import load_tool
from smallbig_mm.mmaction.config_scope import SCOPE, register_config_scope

pytestmark = pytest.mark.mmaction  # imports the MMAction2 side at module level

REPO = Path(__file__).resolve().parents[2]
generator = load_tool('generate_python_configs', folder='misc')


def test_generated_python_configs_are_current():
    assert generator.stale_files() == [], 'run: python tools/misc/generate_python_configs.py'


def test_generated_config_equals_its_text_config():
    from mmengine.config import Config

    text = REPO / 'configs/recognition/smallbig/smallbig_r23-w16_1xb16-8x1x1-20e_motion-rgb.py'
    python = generator.TARGET / generator.python_name(text.relative_to(generator.SOURCE))
    assert Config.fromfile(str(python)).to_dict() == Config.fromfile(str(text)).to_dict()


def test_register_config_scope_adds_only_this_package():
    from mmengine.config.utils import MODULE2PACKAGE

    before = dict(MODULE2PACKAGE)
    register_config_scope()
    register_config_scope()
    assert {k: v for k, v in MODULE2PACKAGE.items() if k != SCOPE} == {
        k: v for k, v in before.items() if k != SCOPE
    }
    assert MODULE2PACKAGE[SCOPE] == 'smallbig-mm'
