"""Small helpers with no dependency beyond the standard library."""
from .files import OutputExistsError, atomic_output, check_output_path

__all__ = ['OutputExistsError', 'atomic_output', 'check_output_path']
