"""A comparison's finished runs, kept on disk as they finish: what `compare --resume` continues.

``DIR/plan.json`` records the settings that decide the results (backend, the table's content
fingerprint, strategies, seeds, budget, simulated workers, the trainer's and surrogate's
options); it is written before the first run. ``DIR/runs/<strategy>/seed-<seed>.csv`` holds one
finished run's rows (results.csv's columns and the measured strategy_seconds), written to a
temporary file and renamed, so a comparison stopped at any moment, even killed, keeps every
run that had finished. A resumed comparison reads the kept runs back exactly (every column
with the dtype and value it was written with) and runs the others, so its results.csv is
byte-identical to that of an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from nasbench_lite.errors import InputError
from nasbench_lite.interrupts import deferred_interrupt
from nasbench_lite.outputs import write_text_atomic

PLAN_FILE = "plan.json"
RUNS_DIR = "runs"
FORMAT_VERSION = 1
# Recorded for the reader, not compared: the same table may lie elsewhere on resume.
INFORMATIVE = ("format_version", "table_path", "table_rows_trained")


def table_fingerprint(table: Any) -> str:
    """A short hex digest of the table's content: every array's name, dtype, shape and
    bytes. Equal for the same table wherever its file lies; it changes when rows are added
    to a table still being generated."""
    digest = hashlib.sha256()
    for name in sorted(table.arrays):
        array = table.arrays[name]
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def plan_record(plan: Any, table: Any) -> dict[str, Any]:
    """The settings of `plan` that decide a comparison's results (INFORMATIVE ones aside)."""
    return {
        "format_version": FORMAT_VERSION,
        "backend": plan.backend,
        "table": table_fingerprint(table),
        "table_path": str(table.source),
        "table_rows_trained": int(np.sum(table.done)),
        "strategies": list(plan.labels),
        "seeds": plan.seeds,
        "budget": str(plan.budget),
        "workers": plan.workers,
        "preset": plan.preset,
        "dataset": plan.dataset,
        "model": plan.model,
        "data_dir": plan.data_dir,
        "charge_overhead": plan.charge_overhead,
        # Absent (None) for a single-objective comparison, as in plans written before them.
        "objectives": _objectives(plan, "objectives"),
        "constraints": _objectives(plan, "constraints"),
        **_sources(plan),
    }


def _sources(plan: Any) -> dict[str, Any]:
    """{"sources": their names, "sources_content": a digest of what they hold} when the plan
    has source tasks (absent otherwise, as in plans written before them): a source table
    that grew between an interrupted comparison and its resume would give its transfer
    runs other data."""
    sources = getattr(plan, "sources", None)
    if sources is None:
        return {}
    digest = hashlib.sha256()
    for task in sources:
        curves = np.ascontiguousarray(task.curves)
        digest.update(f"{task.name}:{curves.dtype.str}:{curves.shape}".encode())
        digest.update(curves.tobytes())
        digest.update(np.ascontiguousarray(task.raw_to_row).tobytes())
    return {"sources": list(sources.names), "sources_content": digest.hexdigest()[:16]}


def _objectives(plan: Any, name: str) -> list[str] | None:
    """The plan's objectives or constraints as strings; None when it has none."""
    chosen = getattr(plan, "objectives", None)
    return [str(x) for x in getattr(chosen, name)] or None if chosen is not None else None


def read_plan(out: Path) -> dict[str, Any] | None:
    """DIR/plan.json, or None when there is none; InputError when it cannot be read."""
    path = Path(out) / PLAN_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(
            f"{path} cannot be read ({err}); delete the folder to start over"
        ) from None
    if not isinstance(record, dict) or "strategies" not in record or "seeds" not in record:
        raise InputError(f"{path} is not a comparison's plan; delete the folder to start over")
    return record


# Settings recorded since: a plan written before one of them is not refused for lacking it.
LATER = ("sources_content",)


def check_same_plan(saved: dict[str, Any], record: dict[str, Any], out: Path) -> None:
    """InputError naming the first setting on which this comparison differs from the one
    recorded in `out` (a resumed comparison must be the same comparison)."""
    for name, value in record.items():
        if name in INFORMATIVE or saved.get(name) == value:
            continue
        if name in LATER and name not in saved:  # a plan written before it was recorded
            continue
        if name == "table":
            raise InputError(
                f"cannot resume {out}: its runs were made on {_shown(saved, name)}, and the "
                f"table is now {_shown(record, name)}; runs on two versions of a table do not "
                "mix (a table still being generated changes as it grows): start over with "
                "--out DIR --force"
            )
        raise InputError(
            f"cannot resume {out}: {name} differs ({out}: {_shown(saved, name)}; this "
            f"command: {_shown(record, name)}); give the settings of the interrupted "
            f"comparison, or start over with --out DIR --force"
        )


def _shown(record: dict[str, Any], name: str) -> str:
    """A recorded setting as a message shows it (the table: its path and content digest)."""
    if name == "table":
        rows = record.get("table_rows_trained")
        trained = "" if rows is None else f"{rows:,} rows trained, "
        return f"{record.get('table_path')} ({trained}content {record.get('table')})"
    return repr(record.get(name))


def run_path(out: Path, label: str, seed: int) -> Path:
    """Where run (`label`, `seed`) is kept."""
    return Path(out) / RUNS_DIR / quote(label, safe="") / f"seed-{seed}.csv"


def read_run(path: Path) -> pd.DataFrame:
    """A kept run's frame, as `Trajectory.to_frame` made it (incumbent_cell "" where empty)."""
    try:
        frame = pd.read_csv(path, dtype={"strategy": "str", "incumbent_cell": "str"})
    except (OSError, ValueError) as err:
        raise InputError(f"{path} cannot be read ({err}); delete it to run it again") from None
    frame["incumbent_cell"] = frame["incumbent_cell"].fillna("").astype("str")
    return frame


@dataclass(frozen=True)
class Journal:
    """The finished runs of one comparison in folder `out` (see the module docstring)."""

    out: Path
    labels: tuple[str, ...]

    def write(self, task: tuple[int, int], frame: pd.DataFrame) -> None:
        """Keep run `task` = (strategy index, seed). A Ctrl-C during the write waits for it."""
        index, seed = task
        path = run_path(self.out, self.labels[index], seed)
        with deferred_interrupt():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, frame.to_csv(index=False))

    def kept(self, seeds: int) -> dict[tuple[int, int], pd.DataFrame]:
        """The kept runs among the plan's (strategy index, seed) tasks."""
        found = {}
        for index, label in enumerate(self.labels):
            for seed in range(seeds):
                path = run_path(self.out, label, seed)
                if path.is_file():
                    found[index, seed] = read_run(path)
        return found


def start(out: Path, plan: Any, table: Any, resume: bool) -> tuple[Journal, dict]:
    """Open the journal of a comparison in `out`: with `resume`, check the plan recorded
    there (InputError naming a differing setting) and return its kept runs; else (or when
    `out` holds no plan) clear any earlier journal and record this plan. Returns (journal,
    kept runs: (strategy index, seed) -> frame)."""
    out = Path(out)
    record = plan_record(plan, table)
    journal = Journal(out, tuple(plan.labels))
    saved = read_plan(out) if resume else None
    if saved is not None:
        check_same_plan(saved, record, out)
        return journal, journal.kept(plan.seeds)
    out.mkdir(parents=True, exist_ok=True)
    with deferred_interrupt():
        shutil.rmtree(out / RUNS_DIR, ignore_errors=True)
        write_text_atomic(out / PLAN_FILE, json.dumps(record, indent=1) + "\n")
    return journal, {}


def progress(out: Path) -> tuple[int, int] | None:
    """(finished runs, planned runs) of the comparison recorded in `out`; None without a
    plan there."""
    with contextlib.suppress(InputError):
        saved = read_plan(out)
        if saved is not None:
            runs = [(s, seed) for s in saved["strategies"] for seed in range(int(saved["seeds"]))]
            done = sum(run_path(out, s, seed).is_file() for s, seed in runs)
            return done, len(runs)
    return None


def missing_runs(out: Path, present: set[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (strategy, seed) runs a complete results.csv in `out` would hold and `present`
    lacks: those of the recorded plan when there is one; else every strategy's run on every
    seed any strategy has."""
    try:
        saved = read_plan(out)
    except InputError:
        saved = None
    if saved is not None:
        strategies = [str(s) for s in saved["strategies"]]
        seeds = range(int(saved["seeds"]))
    else:
        strategies = list(dict.fromkeys(s for s, _ in present))
        seeds = sorted({seed for _, seed in present})
    return [(s, seed) for s in strategies for seed in seeds if (s, seed) not in present]
