"""Output paths: checked for writing before any work, and files replaced atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from nasbench_lite.errors import InputError


def check_writable_dir(path: str | os.PathLike, name: str) -> Path:
    """`path` as a Path when a directory can be created there (if missing) and written into;
    else InputError "`name` PATH: cannot write there (REASON)". Leaves nothing behind: the
    directories it had to create to find out are removed again."""
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "it is a file" if existing == path else f"{existing} is a file"
        raise InputError(f"{name} {path}: cannot write there ({where}, not a directory)")
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InputError(f"{name} {path}: cannot write there ({err.strerror or err})") from None
    finally:
        for directory in created:  # deepest first
            with contextlib.suppress(OSError):
                directory.rmdir()
    return path


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file renamed onto it: a reader (or a
    process killed at any moment) sees the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
