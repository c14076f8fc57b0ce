"""Handlers of the command-line interface, one module per group of commands.

Each handler takes the parsed `argparse.Namespace`, calls the library and prints; it imports
the library inside its body, so a command loads only what it uses (`query` never loads JAX).
"""

from __future__ import annotations

from pathlib import Path


def table_path(given: str | None) -> Path:
    """The table file a command reads: the one given, else `shipped.default_table_path`."""
    from nasbench_lite.table.shipped import default_table_path

    return Path(given) if given is not None else default_table_path()


def resumable_stop(name: str, kept: str, command: str, error: Exception | None = None) -> int:
    """Say in one line on stderr why the resumable command `name` stopped (a failed write,
    or Ctrl-C when `error` is None), what its file keeps and the command that resumes;
    returns the exit code (2, or 130 for Ctrl-C)."""
    import sys

    why = f"error: {error}" if error is not None else "interrupted"
    print(f"nasbench-lite {name}: {why}; {kept}. The same command resumes: {command}",
          file=sys.stderr)  # fmt: skip
    return 2 if error is not None else 130


def rows_kept(path: str, done: str, what: str) -> str:
    """How many rows of the table file at `path` a resumable command has finished (its
    `done` dataset, e.g. "proxies/done"), in words, naming `what` they keep."""
    import numpy as np

    from nasbench_lite.table.storage import read_arrays

    try:
        arrays, _ = read_arrays(path)
    except (ValueError, OSError):
        return f"{path} could not be read"
    rows = len(arrays["cells/row_raw"])
    finished = int(np.asarray(arrays.get(done, np.zeros(rows, bool)), bool).sum())
    return f"{path} keeps the {what} of {finished:,} of {rows:,} rows"
