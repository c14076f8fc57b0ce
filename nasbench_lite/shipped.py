"""The shipped tables: where they lie and which one a command uses when none is given.

`compare`, `query`, `info` and `card` all default to `default_table_path()`. Reads only
/status/done and /cells/raw_to_row of a file (h5py, no JAX).
"""

from __future__ import annotations

import os
from pathlib import Path

from nasbench_lite.errors import MissingFileError

TABLE_ENV = "NASBENCH_LITE_TABLE"
TABLE_NAMES = ("nb201_mnist1d_cpu.h5", "nb201_mnist1d_small.h5")
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def table_is_complete(path: str | os.PathLike) -> bool:
    """Whether the table file at `path` answers every cell (`tablefile.file_is_complete`)."""
    from nasbench_lite.tablefile import file_is_complete

    return file_is_complete(path)


def default_table_path() -> Path:
    """The table a command uses when none is given: $NASBENCH_LITE_TABLE if set, else the
    first complete one of TABLE_NAMES in data/ at the repository root, else the first of them
    that exists (a partial table: a search is then restricted to the classes it holds).

    Raises MissingFileError (a FileNotFoundError) when there is none.
    """
    env = os.environ.get(TABLE_ENV)
    if env:
        if not Path(env).is_file():
            raise MissingFileError(f"{TABLE_ENV}={env}: no such table file")
        return Path(env)
    found = [DATA_DIR / name for name in TABLE_NAMES if (DATA_DIR / name).is_file()]
    if found:
        return next((path for path in found if table_is_complete(path)), found[0])
    raise MissingFileError(
        f"no table given and no shipped table found (looked for {', '.join(TABLE_NAMES)} in "
        f"{DATA_DIR}); name a table file or set {TABLE_ENV}"
    )
