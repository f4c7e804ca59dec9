"""The MMAction2 side: its stack fixes and registrations before these modules are collected.

Every test in this folder is marked ``mmaction`` (the repository's ``conftest.py``).
"""

import smallbig_mm.mmaction  # noqa: F401  (stack fixes and registration before any test)
