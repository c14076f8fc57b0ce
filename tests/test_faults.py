"""Fault injection (benchmarks/fault_injection.py): every flipped bit of a table's arrays and
every cut of its file fails with one line naming it; a full disk leaves the previous file
whole and says so; a second writer stops at once; and, marked slow, SIGKILL and Ctrl-C at
seeded moments of generate, compare --resume and proxies lose nothing finished."""

from __future__ import annotations

import errno
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.errors import WriteFailedError
from nasbench_lite.generate.lock import writer_lock
from nasbench_lite.outputs import write_bytes_atomic, write_text_atomic
from nasbench_lite.table.synthetic import synthetic_table

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("fault_injection",
                                               ROOT / "benchmarks/fault_injection.py")  # fmt: skip
faults = importlib.util.module_from_spec(_spec)
sys.modules["fault_injection"] = faults  # its dataclasses look their module up
_spec.loader.exec_module(faults)


@pytest.fixture(scope="module")
def table_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "t.h5"
    synthetic_table(path, rows=40, seeds=2, epochs=3)
    return path


def assert_all_survived(found: list) -> None:
    failed = [f for f in found if not f.survived]
    assert not failed, failed[:5]


def test_every_flipped_bit_of_every_array_is_named_or_harmless(table_file, tmp_path):
    found = faults.bit_flips(table_file, tmp_path, np.random.default_rng(0), per_array=3)
    assert len(found) >= 3 * 15  # every dataset that holds values
    assert_all_survived(found)
    # Fletcher-32 catches every single-bit error: none passed as harmless.
    assert not any(f.harmless for f in found)


def test_a_file_cut_at_every_tenth_is_one_line_naming_it(table_file, tmp_path):
    found = faults.truncations(table_file, tmp_path)
    assert len(found) == 10
    assert_all_survived(found)


def test_a_full_disk_leaves_the_previous_table_whole(table_file, tmp_path):
    target = tmp_path / "t.h5"
    target.write_bytes(table_file.read_bytes())
    before = faults.sha256(target)
    bigger = synthetic_table(rows=400, seeds=2, epochs=3)
    with faults.disk_fills_after(10_000), pytest.raises(WriteFailedError) as failed:
        bigger.write(target)
    assert str(failed.value) == (
        f"cannot write {target} (No space left on device); {target} is unchanged"
    )
    assert failed.value.errno == errno.ENOSPC and isinstance(failed.value, OSError)
    assert faults.sha256(target) == before and os.listdir(tmp_path) == ["t.h5"]
    with faults.disk_fills_after(0), pytest.raises(WriteFailedError, match="was not written"):
        bigger.write(tmp_path / "new.h5")
    assert os.listdir(tmp_path) == ["t.h5"]


def test_atomic_writes_leave_no_temporary_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    write_text_atomic(path, "old")
    with faults.disk_fills_after(2), pytest.raises(WriteFailedError, match="a.txt is unchanged"):
        write_text_atomic(path, "a longer text")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]
    # A rename that fails (another file system's limits) is reported the same way.
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.EIO, "EIO")))
    with pytest.raises(WriteFailedError, match=r"\(EIO\); .*a.txt is unchanged"):
        write_bytes_atomic(path, b"new", tmp_path / "a.tmp", durable=True)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]
    # Ctrl-C between the write and the rename: no temporary file is left either.
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(path, b"new", tmp_path / "a.tmp")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_a_full_disk_in_compare_keeps_the_runs_and_resumes(table_file, tmp_path, capsys):
    args = ["compare", "--table", str(table_file), "--strategies", "random_search",
            "local_search", "--seeds", "2", "--budget", "10evals", "--jobs", "1",
            "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "full"
    with faults.disk_fills_after(3000):
        assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "No space left on device" in err
    assert f"resume with: nasbench-lite {' '.join(args)}" in err
    assert not list(out.rglob("*.tmp"))
    assert main([*args, "--resume", str(out)]) == 0
    assert (out / "results.csv").read_bytes() == (tmp_path / "whole/results.csv").read_bytes()


def test_a_full_disk_while_writing_the_report_names_it(table_file, tmp_path, monkeypatch):
    from nasbench_lite.compare import report
    from nasbench_lite.compare.config import CompareConfig
    from nasbench_lite.compare.run import compare

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(report, "write_report", no_room)
    out = tmp_path / "c"
    config = CompareConfig(table=str(table_file), strategies=("random_search",), seeds=2,
                           budget="10evals", jobs=1, out=str(out), progress=False)  # fmt: skip
    with pytest.raises(WriteFailedError) as failed:
        compare(config)
    assert str(failed.value) == (
        f"cannot write the results and report in {out} (No space left on device); every run "
        f"is kept in {out}; once there is room, --resume {out} writes them"
    )
    assert len(list((out / "runs").rglob("*.csv"))) == 2


def test_merge_into_a_table_being_written_stops_naming_the_holder(table_file, tmp_path, capsys):
    out = tmp_path / "held.h5"
    out.write_bytes(table_file.read_bytes())
    before = faults.sha256(out)
    with writer_lock(out):
        # The lock is per open file: this process holding it is "another writer" to merge.
        assert main(["merge", str(out), str(table_file)]) == 2
    err = capsys.readouterr().err
    assert f"pid {os.getpid()}" in err and faults.one_line(err) and faults.sha256(out) == before


def test_the_counts_table_adds_up():
    found = [faults.Fault("a", True), faults.Fault("a", False, detail="x"),
             faults.Fault("b", True, harmless=True),
             faults.Fault("b", True, late=True)]  # fmt: skip
    assert faults.counts(found) == [("a", 2, 1, 0, 0, 1), ("b", 2, 2, 1, 1, 0)]
    total = faults.markdown(found).splitlines()[-1]
    assert total == "| **all** | **4** | **3** | **1** | **1** | **1** |"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_the_quick_campaign_survives_every_fault(tmp_path):
    """Signals at seeded moments of generate, compare (--resume), proxies and latency, a second
    writer of each kind, a full disk (a tmpfs where this process may mount one)."""
    found = faults.campaign(tmp_path, seed=1, quick=True)
    print(faults.markdown(found))
    assert_all_survived(found)
    kinds = {f.kind.split(":")[0] for f in found}
    assert {"bit flip", "truncation", "SIGKILL", "SIGINT", "second writer"} <= kinds
    assert any(f.kind.startswith("full disk") for f in found)
    # At least one signal of each command landed while it ran.
    for command in ("generate", "compare", "proxies", "latency"):
        assert any(f.kind.endswith(command) and not f.late for f in found), command
