"""Small helpers with no dependency beyond the standard library."""

from .errors import UsageError, UserError
from .files import (
    FolderNotWritableError,
    OutputExistsError,
    OutputPathError,
    atomic_folder,
    atomic_output,
    check_folder_writable,
    check_output_path,
    ensure_writable_folder,
    make_temp_folder,
)
from .text import preview

__all__ = [
    'FolderNotWritableError',
    'OutputExistsError',
    'OutputPathError',
    'UsageError',
    'UserError',
    'atomic_folder',
    'atomic_output',
    'check_folder_writable',
    'check_output_path',
    'ensure_writable_folder',
    'make_temp_folder',
    'preview',
]
