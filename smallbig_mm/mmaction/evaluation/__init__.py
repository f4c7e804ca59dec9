"""Metrics registered in MMAction2's registry: :class:`SafeDumpResults`."""

from .dump import SafeDumpResults

__all__ = ['SafeDumpResults']
