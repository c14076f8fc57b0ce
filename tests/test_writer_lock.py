"""One writer at a time: a second writer of a table file stops at once, naming the holder;
a killed holder leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from nasbench_lite.cli import main
from nasbench_lite.errors import InputError
from nasbench_lite.generate.lock import lock_path, writer_lock

HOLD = """
import sys, time
from nasbench_lite.generate.lock import writer_lock
with writer_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    out = tmp_path / "t.h5"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "locked"
    yield out, proc
    proc.kill()
    proc.wait()


def test_a_second_writer_stops_naming_the_holder(holder, capsys):
    out, proc = holder
    with pytest.raises(
        InputError, match=rf"t.h5 is being written by another process \(pid {proc.pid}"
    ):
        with writer_lock(out):
            pass
    code = main(["generate", "--preset", "tiny", "--cells", "1", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and f"pid {proc.pid}" in err
    assert not out.exists()  # nothing was written


def test_a_killed_holder_leaves_no_stale_lock(holder):
    out, proc = holder
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while True:  # the kernel drops the lock with the process
        try:
            with writer_lock(out) as lock:
                assert lock == lock_path(out) and str(os.getpid()) in lock.read_text()
            assert not lock.exists()  # removed at the end
            break
        except InputError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with writer_lock(out):  # and again: released at the end of the block
        pass


def test_an_unwritable_directory_is_named_not_a_traceback(tmp_path, monkeypatch):
    """The lock file cannot be made (a read-only directory; faked by os.open failing as it
    would): an InputError naming the table, which `proxies` and `latency` print in one
    line."""
    import errno

    def refuse(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(InputError, match=r"t.h5: cannot take its writer lock .*Read-only file"):
        with writer_lock(tmp_path / "t.h5"):
            pass
