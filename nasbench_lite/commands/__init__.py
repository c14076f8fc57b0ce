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
