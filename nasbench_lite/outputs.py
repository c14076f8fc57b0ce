"""Output paths: checked for writing before any work, and files replaced atomically."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from nasbench_lite.errors import InputError, WriteFailedError


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
    process killed at any moment) sees the old file or the new one, never a part. A failed
    write (a full disk) raises WriteFailedError and leaves the old file as it was."""
    path = Path(path)
    write_bytes_atomic(path, text.encode("utf-8"), path.with_name(f".{path.name}.tmp"))


@contextlib.contextmanager
def failed_writes(what: str, kept: str):
    """Turn an OSError raised in the block (a full disk while writing `what`) into
    WriteFailedError "cannot write WHAT (REASON); KEPT" with the same errno."""
    try:
        yield
    except (InputError, KeyboardInterrupt):
        raise
    except OSError as err:
        failure = WriteFailedError(f"cannot write {what} ({err.strerror or err}); {kept}")
        failure.errno = err.errno
        raise failure from None


def write_bytes_atomic(path: Path, data: bytes, tmp: Path, durable: bool = False) -> None:
    """Write `data` to `tmp`, then rename it onto `path`. `durable`: fsync the file before
    the rename and the directory after it, so that a power cut leaves the old file or the
    new one too. On a failed write (a full disk, a quota) `tmp` is removed and
    WriteFailedError (an OSError with the failure's errno) says that `path` is unchanged."""
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        kept = f"{path} is unchanged" if path.exists() else f"{path} was not written"
        failure = WriteFailedError(f"cannot write {path} ({err.strerror or err}); {kept}")
        failure.errno = err.errno  # (strerror and filename would replace the message)
        raise failure from None
    except BaseException:  # Ctrl-C mid-write: `path` is as it was, and no `tmp` is left
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable and sys.platform != "win32":  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
