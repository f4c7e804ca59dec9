"""Command-line entry points (``smallbig-train``, ``smallbig-test``), mirroring MMAction2's tools."""
