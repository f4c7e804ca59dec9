"""The UserError hierarchy: every user error of the package has its exit status and the
builtin its callers expect."""

import importlib
import inspect
import pkgutil

import pytest

import smallbig_mm
from smallbig_mm.utils.errors import UsageError, UserError

STACK = ('mmengine', 'mmaction', 'mmcv')


def package_user_errors():
    """Every UserError subclass defined in a module of the package that imports here."""
    found = {}
    for info in pkgutil.walk_packages(smallbig_mm.__path__, 'smallbig_mm.'):
        if info.name == 'smallbig_mm._native':  # the optional C++ extension: no classes
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError as error:  # the MMAction2 side where the stack is missing
            if (getattr(error, 'name', '') or '').split('.')[0] in STACK:
                continue
            raise
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, UserError)
                and obj is not UserError
                and obj.__module__ == module.__name__
            ):
                found[f'{module.__name__}.{name}'] = obj
    return found


def test_usage_errors_exit_2_and_others_1():
    assert UserError.exit_status == 1 and UsageError.exit_status == 2
    assert issubclass(UsageError, ValueError)


def test_every_package_user_error_is_also_a_builtin_error_with_a_valid_status():
    errors = package_user_errors()
    assert len(errors) >= 5, errors
    for name, cls in errors.items():
        assert cls.exit_status in (1, 2), name
        builtins = [
            base
            for base in cls.__mro__[1:]
            if base.__module__ == 'builtins' and base not in (Exception, BaseException, object)
        ]
        assert builtins, f'{name} subclasses no builtin its callers could catch'
        assert cls.__doc__, name


@pytest.mark.parametrize('status', [1, 2])
def test_the_status_follows_the_class(status):
    base = UsageError if status == 2 else UserError

    class Mine(base, RuntimeError):
        pass

    assert Mine('x').exit_status == status
