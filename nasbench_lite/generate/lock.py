"""One writer at a time: an exclusive lock on a table file that is being written.

`writer_lock(path)` takes an advisory lock (`fcntl.flock`) on `<path>.lock` for as long as
the `with` block runs, writing the holder's pid, host and command into it, and removes the
file at the end. A second writer stops at once with one line naming the file and the
holder. The lock is the kernel's: it goes with the process that held it, so a killed writer
leaves no stale lock behind (its file stays, unlocked, and the next writer takes it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from nasbench_lite.errors import InputError


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of table file `path`: `<path>.lock` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def writer_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold the exclusive writer lock of `path` for the block; InputError naming the holder
    when another process holds it. Platforms without `fcntl` run unlocked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield lock_path(path)
        return
    lock = lock_path(path)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
            raise InputError(
                f"{path} is being written by another process ({holder}); wait for it to "
                f"finish or stop it (it resumes later), or write another file"
            ) from None
        me = f"pid {os.getpid()} on {socket.gethostname()}: {' '.join(sys.argv) or 'python'}"
        with contextlib.suppress(OSError):  # a full disk: held all the same, holder unnamed
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode(), 0)
        try:
            yield lock
        finally:
            # Removed while still held, so the folder keeps only the table. A writer that
            # opened the old file just before this stops at its own (failed) lock attempt.
            with contextlib.suppress(OSError):
                lock.unlink()
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
