"""Exceptions that mean "the user's input is wrong" (not a bug in esm).

The CLI prints their message alone and exits non-zero (with a traceback only under
``--debug``). Messages name the file, the namelist key or the variable, and what was
expected.
"""


class EsmUserError(Exception):
    """Base class for errors caused by input (namelist, files, directories)."""


class ConfigError(EsmUserError, ValueError):
    """A namelist group, key or value is invalid."""


class InputDataError(EsmUserError, ValueError):
    """An input file is missing, unreadable, or its contents are not of the expected form."""


class RestartError(EsmUserError, ValueError):
    """A restart file is missing, corrupt or does not match the run."""


class ModelStateError(RuntimeError):
    """The model state became invalid (NaN, negative air mass, ...); names field, time and cell."""
