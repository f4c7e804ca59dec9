"""Command-line entry points: ``smallbig-train`` and ``smallbig-test`` (MMAction2's
arguments), ``smallbig-convert``, ``smallbig-generate-motion`` and ``smallbig-benchmark``.

All report user errors the same way (:mod:`.errors`): one ``error: ...`` line on stderr,
exit status 1 (2 for usage), the traceback only with ``--log-level DEBUG``.
"""
