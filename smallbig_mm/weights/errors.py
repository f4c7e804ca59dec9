"""The one exception type of the weights package."""

from ..utils.errors import UserError


class CheckpointError(UserError, ValueError):
    """A checkpoint could not be read, converted or loaded.

    The message names the file (when there is one), says what was wrong and, where it
    helps, what to do instead. It subclasses ``ValueError`` so callers that already catch
    bad-argument errors keep working.

    Example:
        >>> try:
        ...     raise CheckpointError('ckpt.pth: not a PyTorch checkpoint')
        ... except ValueError as err:
        ...     print(err)
        ckpt.pth: not a PyTorch checkpoint
    """
