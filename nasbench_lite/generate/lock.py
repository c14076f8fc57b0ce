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
    """The lock file of table file `path`: `<path>.lock` beside the file it names, symbolic
    links followed (two names of one file share one lock)."""
    path = Path(path).resolve()
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
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:  # a read-only directory, no permission
            raise InputError(
                f"{path}: cannot take its writer lock {lock} ({err.strerror}); is its "
                "directory writable?"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise InputError(
                f"{path} is being written by another process ({holder}); wait for it to "
                f"finish or stop it (it resumes later), or write another file"
            ) from None
        # A holder removes the file before it unlocks: a lock taken on a file that is no
        # longer the one at `lock` (removed, or made anew by a third writer) is no lock.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        me = f"pid {os.getpid()} on {socket.gethostname()}: {' '.join(sys.argv) or 'python'}"
        with contextlib.suppress(OSError):  # a full disk: held all the same, holder unnamed
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode(), 0)
        try:
            yield lock
        finally:
            # Removed while still held, so the folder keeps only the table. A writer that
            # opened the old file before this finds it gone once it has the lock, and retries.
            with contextlib.suppress(OSError):
                lock.unlink()
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
