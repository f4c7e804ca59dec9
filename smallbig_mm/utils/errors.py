"""The errors a user can fix, as opposed to bugs of this package.

Every exception the package raises for a mistake of its user (a bad file, a config key,
an existing output, a video that cannot be decoded...) subclasses :class:`UserError`.
Its message says everything: the thing (file, line, key), what is wrong and the fix.
The command-line tools print it as one line ``error: <message>`` and exit with
:attr:`UserError.exit_status` (2 for usage mistakes, 1 otherwise); with
``--log-level DEBUG`` they show the traceback too. Any other exception is a bug and
keeps its traceback (:func:`smallbig_mm.cli.errors.reported_errors`).

Each package error also subclasses the builtin its callers would expect
(``ValueError``, ``RuntimeError``, ``FileExistsError``), so existing ``except`` clauses
keep working.
"""


class UserError(Exception):
    """A mistake of the user, reported as ``error: <message>`` without a traceback.

    Example:
        >>> class MyError(UserError, ValueError):
        ...     pass
        >>> isinstance(MyError('x.txt: empty'), ValueError), MyError.exit_status
        (True, 1)
    """

    exit_status = 1
    """The command-line tools' exit status for this error."""


class UsageError(UserError, ValueError):
    """A command-line argument that cannot work (a missing config file, a bad option).

    Exit status 2, like argparse's own usage errors.
    """

    exit_status = 2
