"""Command-line entry points ``smallbig-train`` and ``smallbig-test`` (MMAction2's arguments)."""
