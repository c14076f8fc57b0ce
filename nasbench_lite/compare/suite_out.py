"""Checks of a comparison across tasks' output folder, before any runs: that it may be
written into, and that its task folders are finished or can be resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasbench_lite.errors import InputError, OutputExistsError

REPORT_FILE = "suite_report.md"
SUMMARY_FILE = "suite_summary.csv"


def check_suite_out(out: Path, labels: list[str]) -> None:
    """OutputExistsError unless `out` is new, empty, holds an earlier comparison across
    tasks (its report or summary) or only folders of these tasks (one that was interrupted):
    a folder of other files, or of a single-table comparison, is not written into."""
    from nasbench_lite.compare.results import written_by_compare

    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"--out {out}: a file of that name exists")
    if not out.is_dir() or (out / REPORT_FILE).is_file() or (out / SUMMARY_FILE).is_file():
        return
    others = sorted(p.name for p in out.iterdir() if not (p.is_dir() and p.name in labels))
    if not others:
        return
    listed = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
    what = "a single-table comparison" if written_by_compare(out) else f"other files ({listed})"
    raise OutputExistsError(
        f"--out {out} holds {what}, no comparison across tasks; choose a new directory or "
        "pass --force to write into it anyway"
    )


def check_finished(label: str, task_out: Path, out: Path) -> None:
    """OutputExistsError naming the suite's folder to resume when a task's folder holds an
    unfinished comparison (an interrupted suite), ahead of the task's own advice."""
    from nasbench_lite.compare.journal import progress
    from nasbench_lite.compare.results import written_by_compare

    done = progress(task_out) if task_out.is_dir() and written_by_compare(task_out) else None
    if done is not None and done[0] < done[1]:
        raise OutputExistsError(
            f"--out {out}: task {label!r} holds an unfinished comparison ({done[0]:,} of "
            f"{done[1]:,} runs finished); continue the suite with --resume {out} and the same "
            "--tasks, or pass --force to start over"
        )


def check_resumable(label: str, out: Path, plan: Any, table: Any) -> None:
    """InputError, naming the task, when the comparison recorded in `out` cannot be resumed
    with `plan` (e.g. its table grew since its runs); the other tasks could."""
    from nasbench_lite.compare import journal

    saved = journal.read_plan(out)
    if saved is None:
        return
    try:
        journal.check_same_plan(saved, journal.plan_record(plan, table), out)
    except InputError as err:
        raise InputError(
            f"task {label!r}: {err}; or remove {out} to run that task again while the other "
            "tasks resume"
        ) from None
