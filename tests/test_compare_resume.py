"""`compare` loses nothing finished: runs kept on disk as they finish, `--resume` continuing an
interrupted comparison to the same results.csv, Ctrl-C at any moment, incomplete folders and
output folders that cannot be written."""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench_lite.cli import main
from nasbench_lite.compare import journal
from nasbench_lite.compare.results import check_out_dir
from nasbench_lite.compare.workers import Worker
from nasbench_lite.errors import InputError, Interrupted, OutputExistsError
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

cmp = importlib.import_module("nasbench_lite.compare.run")
STRATEGIES = ("random_search", "local_search")
SEEDS = 4
RUN = Worker.run  # the unpatched method


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("table") / "synthetic.h5"
    synthetic_table(path, epochs=2)
    return path


def config(table_path, out, **changes) -> cmp.CompareConfig:
    base = cmp.CompareConfig(
        table=str(table_path), strategies=STRATEGIES, seeds=SEEDS, budget="8evals", jobs=1,
        out=out,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def interrupt_after(monkeypatch, runs: int) -> list:
    """Make the in-process Worker raise KeyboardInterrupt before its (runs+1)-th run;
    returns the list of tasks it ran."""
    calls = []

    def counted(self, task):
        if len(calls) == runs:
            raise KeyboardInterrupt
        calls.append(task)
        return RUN(self, task)

    monkeypatch.setattr(Worker, "run", counted)
    return calls


def test_resume_keeps_finished_runs_and_gives_identical_results(table_path, tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    cmp.compare(config(table_path, whole))
    out = tmp_path / "resumed"
    interrupt_after(monkeypatch, 3)
    with pytest.raises(Interrupted) as stop:
        cmp.compare(config(table_path, out))
    assert (stop.value.done, stop.value.total) == (3, 8)
    kept = sorted((out / journal.RUNS_DIR).rglob("*.csv"))
    assert [p.relative_to(out).as_posix() for p in kept] == [
        f"runs/random_search/seed-{seed}.csv" for seed in range(3)
    ]
    written = {p: p.stat().st_mtime_ns for p in kept}
    # The kept runs are not run again: only the five others are.
    calls = interrupt_after(monkeypatch, 99)
    result = cmp.compare(config(table_path, out, resume=True))
    assert sorted(calls) == sorted({(i, s) for i in range(2) for s in range(SEEDS)} - {
        (0, 0), (0, 1), (0, 2)})  # fmt: skip
    assert {p: p.stat().st_mtime_ns for p in kept} == written
    assert (out / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    assert (out / "report.md").is_file() and len(result.results.groupby(["strategy", "seed"])) == 8
    # Resuming a finished comparison runs nothing and gives the same file again.
    calls.clear()
    cmp.compare(config(table_path, out, resume=True, jobs=2))
    assert (
        calls == [] and (out / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    )


def test_resume_in_worker_processes_gives_identical_results(table_path, tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    cmp.compare(config(table_path, whole))
    out = tmp_path / "resumed"
    interrupt_after(monkeypatch, 5)
    with pytest.raises(Interrupted):
        cmp.compare(config(table_path, out))
    monkeypatch.undo()
    cmp.compare(config(table_path, out, resume=True, jobs=2))  # the other 3 runs in processes
    assert (out / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    assert (out / "strategy_seconds.csv").is_file()


def test_kept_runs_read_back_exactly(table_path, tmp_path):
    plan, table = cmp.resolve(config(table_path, None))
    frame = Worker(plan, table).run((1, 3))
    store = journal.Journal(tmp_path, plan.labels)
    store.write((1, 3), frame)
    back = store.kept(SEEDS)
    assert list(back) == [(1, 3)]
    pd.testing.assert_frame_equal(back[1, 3], frame, check_exact=True)
    assert back[1, 3].to_csv(index=False) == frame.to_csv(index=False)


@pytest.mark.parametrize(
    ("change", "setting"),
    [({"seeds": 3}, "seeds"), ({"budget": "9evals"}, "budget"),
     ({"strategies": STRATEGIES[::-1]}, "strategies"), ({"workers": 2}, "workers")],
)  # fmt: skip
def test_resume_refuses_another_plan_naming_the_setting(
    table_path, tmp_path, monkeypatch, change, setting
):
    interrupt_after(monkeypatch, 2)
    with pytest.raises(Interrupted):
        cmp.compare(config(table_path, tmp_path))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(InputError, match=rf"cannot resume {tmp_path}: {setting} differs"):
        cmp.compare(config(table_path, tmp_path, resume=True, **change))
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_resume_refuses_a_table_of_other_content(table_path, tmp_path, monkeypatch, capsys):
    interrupt_after(monkeypatch, 2)
    with pytest.raises(Interrupted):
        cmp.compare(config(table_path, tmp_path / "out"))
    other = tmp_path / "other.h5"
    synthetic_table(other, epochs=2, rng=1)
    argv = ["compare", "--table", str(other), "--strategies", *STRATEGIES, "--seeds", str(SEEDS),
            "--budget", "8evals", "--jobs", "1", "--resume", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    rows = f"{int(Table.open(table_path).done.sum()):,} rows trained, content "
    assert f"its runs were made on {table_path} ({rows}" in err
    assert f"the table is now {other} ({int(Table.open(other).done.sum()):,} rows trained" in err
    assert "do not mix" in err and err.rstrip().endswith("start over with --out DIR --force")


def test_out_refuses_an_unfinished_comparison_unless_resumed_or_forced(
    table_path, tmp_path, monkeypatch
):
    interrupt_after(monkeypatch, 3)
    with pytest.raises(Interrupted):
        cmp.compare(config(table_path, tmp_path))
    message = r"holds an unfinished comparison \(3 of 8 runs finished\); continue it with "
    with pytest.raises(OutputExistsError, match=message + rf"--resume {tmp_path}"):
        check_out_dir(tmp_path)
    assert check_out_dir(tmp_path, resume=True) == tmp_path
    monkeypatch.undo()
    cmp.compare(config(table_path, tmp_path, force=True))  # starts over
    assert journal.progress(tmp_path) == (8, 8)


def test_resume_of_a_new_folder_starts_the_comparison(table_path, tmp_path):
    cmp.compare(config(table_path, tmp_path / "new", resume=True))
    assert journal.progress(tmp_path / "new") == (8, 8)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="holds no earlier comparison"):
        cmp.compare(config(table_path, tmp_path / "foreign", resume=True))


# ---- --report-only on an unfinished folder ---------------------------------------------------


def test_report_only_names_missing_runs_and_writes_nothing(
    table_path, tmp_path, monkeypatch, capsys
):
    interrupt_after(monkeypatch, 5)
    assert main(["compare", "--table", str(table_path), "--strategies", *STRATEGIES, "--seeds",
                 str(SEEDS), "--budget", "8evals", "--jobs", "1", "--no-progress", "--out",
                 str(tmp_path)]) == 130  # fmt: skip
    capsys.readouterr()
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert main(["compare", "--report-only", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "3 runs missing (local_search seed 1, local_search seed 2, local_search seed 3)" in err
    assert f"--resume {tmp_path}" in err
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before  # nothing written


def test_report_only_without_a_plan_finds_runs_missing_from_the_csv(table_path, tmp_path):
    full = tmp_path / "full"
    cmp.compare(config(table_path, full, seeds=6))
    frame = cmp.read_results(full / "results.csv")
    cut = frame[~((frame.strategy == "local_search") & (frame.seed >= 1))]
    out = tmp_path / "old"
    out.mkdir()
    cut.drop(columns=["strategy_seconds"]).to_csv(out / "results.csv", index=False)
    with pytest.raises(InputError, match=r"5 runs missing \(local_search seed 1, local_search "
                       r"seed 2, local_search seed 3, local_search seed 4, \.\.\.\)"):  # fmt: skip
        cmp.rebuild(out)
    assert sorted(p.name for p in out.iterdir()) == ["results.csv"]


# ---- output folders that cannot be written ---------------------------------------------------


def unwritable(tmp_path) -> list[tuple[Path, str]]:
    """Places no process can write, with the reason a message gives."""
    (tmp_path / "a_file").write_text("x")
    places = [(tmp_path / "a_file" / "out", "a_file is a file, not a directory")]
    if Path("/sys/kernel").is_dir():  # sysfs: no one creates files there
        places.append((Path("/sys/kernel/nasbench-out"), "cannot write there ("))
    if os.geteuid() != 0:  # root may write into a read-only directory
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        places.append((locked / "out", "Permission denied"))
    return places


def test_unwritable_compare_out_is_one_line_before_any_run(
    table_path, tmp_path, monkeypatch, capsys
):
    calls = interrupt_after(monkeypatch, 99)
    for out, reason in unwritable(tmp_path):
        argv = ["compare", "--table", str(table_path), "--strategies", "random_search",
                "--seeds", "1", "--budget", "3evals", "--jobs", "1", "--out", str(out)]  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"nasbench-lite compare: error: --out {out}: cannot write there")
        assert reason in err and err.count("\n") == 1
        assert not out.exists()
    assert calls == []


def test_unwritable_card_and_surrogate_targets_fail_before_any_work(
    table_path, tmp_path, monkeypatch, capsys
):
    from nasbench_lite.surrogate.model import Surrogate
    from nasbench_lite.table import card

    def never(*args, **kwargs):
        raise AssertionError("work started")

    monkeypatch.setattr(card, "card_statistics", never)
    monkeypatch.setattr(Surrogate, "fit", classmethod(never))
    for out, reason in unwritable(tmp_path):
        for argv, name in [(["card", str(table_path), "--out", str(out)], "card"),
                           (["card", str(table_path), "--out", str(out / "c.md")], "card"),
                           (["surrogate", "fit", "--table", str(table_path), "--out", str(out)],
                            "surrogate")]:  # fmt: skip
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert err.startswith(f"nasbench-lite {name}: error: --out {out}: cannot write there")
            assert reason in err and err.count("\n") == 1


def test_card_of_the_shipped_table_goes_to_the_working_directory(
    table_path, tmp_path, monkeypatch, capsys
):
    from nasbench_lite.table import shipped

    package_data = tmp_path / "site-packages" / "nasbench_lite" / "data"
    package_data.mkdir(parents=True)
    (package_data / shipped.TABLE_NAMES[0]).write_bytes(table_path.read_bytes())
    monkeypatch.setattr(shipped, "DATA_DIR", package_data)
    monkeypatch.delenv(shipped.TABLE_ENV, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["card"]) == 0
    stem = Path(shipped.TABLE_NAMES[0]).stem
    assert sorted(p.name for p in package_data.iterdir()) == [shipped.TABLE_NAMES[0]]
    assert sorted(p.name for p in work.iterdir()) == [f"{stem}_accuracy.png", f"{stem}_card.md"]
    printed = capsys.readouterr().out
    assert "in the working directory" in printed and "--out" in printed


# ---- Ctrl-C ----------------------------------------------------------------------------------


def compare_command(table_path, out, seeds: int) -> list[str]:
    return [
        sys.executable, "-m", "nasbench_lite", "compare", "--table", str(table_path),
        "--strategies", *STRATEGIES, "--seeds", str(seeds), "--budget", "100evals",
        "--jobs", "2", "--out", str(out),
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_ctrl_c_while_worker_processes_start_is_one_line_with_the_resume_hint(table_path, tmp_path):
    # Seeded moments over the first seconds: imports, table, worker processes starting.
    moments = np.random.default_rng(130).uniform(0.3, 3.0, size=4)
    for i, delay in enumerate(sorted(moments)):
        out = tmp_path / f"out{i}"
        command = compare_command(table_path, out, seeds=400)
        # SIGINT at its default in the child (a backgrounded test run would have it ignored).
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                                text=True, start_new_session=True)  # fmt: skip
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, (delay, stderr)
        lines = [line for line in stderr.splitlines() if "compare:" in line and "|" not in line]
        assert len(lines) == 1 and "Traceback" not in stderr, (delay, stderr)
        assert re.search(r"resume with: nasbench-lite compare .*--resume " + re.escape(str(out)),
                         lines[0]), (delay, lines)  # fmt: skip
        assert stdout == ""  # no ranking: the comparison did not go on
