"""A comparison's output folder: results.csv and the strategy timings beside it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from nasbench_lite.errors import InputError, OutputExistsError
from nasbench_lite.outputs import write_text_atomic
from nasbench_lite.search.trajectory import RESULT_COLUMNS


def written_by_compare(path: str | os.PathLike) -> bool:
    """Whether directory `path` holds a comparison: its plan (journal.PLAN_FILE), or a
    results.csv whose header row starts with RESULT_COLUMNS (the incumbent columns follow)."""
    from nasbench_lite.compare.journal import PLAN_FILE

    if (Path(path) / PLAN_FILE).is_file():
        return True
    csv = Path(path) / "results.csv"
    try:
        with open(csv, encoding="utf-8") as f:
            return f.readline().strip().split(",")[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    except (OSError, UnicodeDecodeError):
        return False


def check_out_dir(out: str | os.PathLike, force: bool = False, resume: bool = False) -> Path:
    """`out` as a Path if a comparison may write into it: a new or empty directory, or one an
    earlier comparison wrote (any directory with `force`); with `resume`, also one holding
    an unfinished comparison. Checked before any work: InputError for an empty path or a
    place that cannot be written, OutputExistsError for a file, a directory of other files,
    or (without `resume` or `force`) an unfinished comparison, whose runs would be lost."""
    from nasbench_lite.compare.journal import progress
    from nasbench_lite.outputs import check_writable_dir

    option = "--resume" if resume else "--out"
    if not str(out).strip():
        raise InputError(f"{option}: the directory is an empty string; name a directory")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{option} {out}: a file of that name exists")
    ours = path.is_dir() and written_by_compare(path)
    if path.is_dir() and not force and any(path.iterdir()) and not ours:
        raise OutputExistsError(
            f"{option} {out} is not empty and holds no earlier comparison; choose a new "
            "directory or pass --force to write into it anyway"
        )
    done = progress(path) if ours and not (resume or force) else None
    if done is not None and done[0] < done[1]:
        raise OutputExistsError(
            f"--out {out} holds an unfinished comparison ({done[0]:,} of {done[1]:,} runs "
            f"finished); continue it with --resume {out}, or pass --force to start over"
        )
    return check_writable_dir(path, option)


def remove_outputs(out: Path) -> None:
    """Delete the files a comparison writes into `out` (results, report, plots, setup)."""
    from nasbench_lite.compare.plots import PLOT_NAMES
    from nasbench_lite.compare.report import SETUP_FILE

    names = ["results.csv", TIMINGS_FILE, "report.md", SETUP_FILE]
    from nasbench_lite.compare.pareto_plots import PARETO_PLOT_NAMES

    plots = (*PLOT_NAMES, *PARETO_PLOT_NAMES)
    names += [f"{name}.{ext}" for name in plots for ext in ("png", "svg")]
    for name in names:
        (out / name).unlink(missing_ok=True)


# Beside results.csv: each run's measured seconds, kept apart so that results.csv is
# bit-for-bit reproducible: the strategy's own (init/ask/tell) and a transfer strategy's
# work on its sources (never charged).
TIMINGS_FILE = "strategy_seconds.csv"

MEASURED = ("strategy_seconds", "source_seconds")


def write_results(results: pd.DataFrame, out: Path) -> None:
    """results.csv (every column but the MEASURED ones) and TIMINGS_FILE (per run:
    strategy, seed, evals, and the MEASURED columns at its last evaluation)."""
    # Replaced whole: a comparison killed while writing it leaves the old file or the new.
    text = results.drop(columns=list(MEASURED), errors="ignore").to_csv(index=False)
    write_text_atomic(out / "results.csv", text)
    measured = [c for c in MEASURED if c in results.columns]
    if measured:
        from nasbench_lite.compare import statistics as stats

        last = stats.final_rows(results)[["strategy", "seed", "evals", *measured]]
        write_text_atomic(out / TIMINGS_FILE, last.to_csv(index=False))


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """A results.csv written by `compare`, as `compare` returned it: the empty cells of
    incumbent_cell (rows where the incumbent did not change) read back as "", not NaN; with
    the run timings beside it, strategy_seconds on each run's last row (NaN elsewhere)."""
    raw = Path(path).read_bytes()
    if raw and not raw.endswith(b"\n"):  # written whole (atomically): cut short since
        raise InputError(f"{path}: the last line is incomplete (the file was cut short)")
    try:
        frame = pd.read_csv(io.BytesIO(raw))
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a results.csv written by compare ({err})") from None
    if "incumbent_cell" in frame.columns:
        frame["incumbent_cell"] = frame["incumbent_cell"].fillna("").astype(str)
    timings = Path(path).parent / TIMINGS_FILE
    if timings.is_file() and len(frame):
        times = pd.read_csv(timings)
        key = ["strategy", "seed", "evals"]
        merged = frame[key].merge(times, on=key, how="left")
        for column in MEASURED:
            if column in merged.columns:  # an older file has strategy_seconds only
                frame[column] = merged[column].to_numpy()
    return frame
