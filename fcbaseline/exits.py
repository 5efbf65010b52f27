"""Exit statuses, in one table: what a run, a sweep or a command ends with, from the outcome or the error.

An `ExitCode` is also how fcbaseline's own exits are told apart from Hydra's: Hydra exits with a plain 1
for an override it cannot compose, which __main__.cli turns into the usual 2 for a usage error.
"""

from enum import IntEnum
from typing import Optional


class ExitCode(IntEnum):
    OK = 0  # done; also a run whose loss diverged: that is a result
    FAILED = 1  # a data or output problem, an unexpected error, a sweep with a failed job
    USAGE = 2  # bad usage or config, a folder in use


def interrupted(signal_number: int) -> int:
    """SIGINT -> 130, SIGTERM -> 143: the shell's convention for a process stopped by a signal."""
    return 128 + int(signal_number)


def expected_exit(error: BaseException) -> Optional[ExitCode]:
    """The table: the exit of a usage, data or output problem, which gets one clear paragraph and no
    traceback (unless HYDRA_FULL_ERROR=1); None for anything else (a bug: logged with its traceback, exit 1)."""
    from omegaconf.errors import OmegaConfBaseException

    from fcbaseline.errors import ConfigError, DataError
    from fcbaseline.files import FolderBusy, OutputError

    table = (
        (ConfigError, ExitCode.USAGE),
        (OmegaConfBaseException, ExitCode.USAGE),  # a config value OmegaConf cannot resolve or convert
        (FolderBusy, ExitCode.USAGE),
        (DataError, ExitCode.FAILED),
        (OutputError, ExitCode.FAILED),
    )
    return next((code for kind, code in table if isinstance(error, kind)), None)
