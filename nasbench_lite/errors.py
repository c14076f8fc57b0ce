"""The package's exception types: what the command line reports in one line, without a traceback.

Every error the library raises about its input (a bad cell string, a table of the wrong schema,
an unknown strategy, a missing file) is an `InputError`. It subclasses ValueError, so
``except ValueError`` keeps working; the missing-file and existing-output variants are also
FileNotFoundError and FileExistsError, and a write that fails (a full disk) is also an OSError.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class InputError(ValueError):
    """A bad input, named with what is wrong with it."""


class MissingFileError(InputError, FileNotFoundError):
    """A file or directory the call needs does not exist."""


class OutputExistsError(InputError, FileExistsError):
    """An output would overwrite something this package did not write (or without force)."""


class WriteFailedError(InputError, OSError):
    """A file could not be written (a full disk, a quota): the message says what is kept.

    Replaced files are written beside their target and renamed onto it, so the file that was
    there before is still whole. An OSError too, with the errno of the failure."""


class RunFailed(InputError):
    """A search run raised (a strategy's own error, most often): the message names the
    strategy, the seed, the exception and the innermost place it was raised; the runs
    finished before it are kept, as after Ctrl-C."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a long call; the work finished before it is kept.

    done, total: units finished and planned (e.g. runs of a comparison); partial: the
    finished part (e.g. a results frame), or None; saved: the file that holds it, or None when
    nothing was written. A KeyboardInterrupt, so code that does not catch it stops as usual.
    """

    def __init__(
        self,
        message: str,
        done: int,
        total: int,
        partial: Any = None,
        saved: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.done, self.total, self.partial, self.saved = done, total, partial, saved
        # Across tasks (`compare --tasks`): the task it stopped in and the tasks finished.
        self.task: str | None = None
        self.tasks_done: list[str] = []
