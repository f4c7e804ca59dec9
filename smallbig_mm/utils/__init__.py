"""Small helpers with no dependency beyond the standard library."""
from .files import OutputExistsError, atomic_output, check_output_path
from .text import preview

__all__ = ['OutputExistsError', 'atomic_output', 'check_output_path', 'preview']
