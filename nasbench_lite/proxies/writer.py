"""Zero-cost proxies into a table file, in chunks, resumably (like `generate`).

Every computed proxy becomes a per-pair metric `/metrics/proxy_<name>` (rows, seeds) float64,
NaN until its row is done; `/proxies/done` (rows,) bool marks the finished rows, and the root
attribute `proxies` (JSON) records the recipe and the measured cost. After every chunk the
whole file is rewritten atomically, under the table's exclusive writer lock, so a run killed
at any moment resumes from its last finished chunk. params and flops are the table's own.

`recompute` (CLI `--recompute NAME ...`) computes named proxies of the finished rows again
(after a fix to one of them) and overwrites only their columns: `/proxies/redo` (rows,) bool
marks the rows still to do and the record's `redo` names them, so it resumes like the rest;
once every row is done both go and the record's `recomputed` lists what was recomputed, when
and with which versions.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench_lite.errors import InputError, MissingFileError
from nasbench_lite.extras import require
from nasbench_lite.generate.lock import writer_lock
from nasbench_lite.proxies.names import COMPUTED, metric_name
from nasbench_lite.table.proxy_stats import DONE, REDO
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import (
    library_versions,
    read_arrays,
    versions_differ,
    write_arrays,
)

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 64  # classes per compiled call (x seeds pairs)


@dataclass(frozen=True)
class ProxiesConfig:
    """Options of `nasbench-lite proxies`."""

    chunk: int | None = None  # classes per call; None: the file's record, else DEFAULT_CHUNK
    data_dir: str | None = None  # the table's dataset files, when it needs them
    command: str = ""
    recompute: tuple[str, ...] = ()  # proxies of the finished rows to compute again


def _start_redo(arrays: dict, attrs: dict, names: tuple[str, ...]) -> bool:
    """Mark the finished rows for recomputing `names` (True: a new recompute, to be written
    at once), or check that the file's unfinished recompute is of the same proxies (it then
    resumes). Nothing to mark when no row is finished: the pending rows get every proxy."""
    unknown = [name for name in names if name not in COMPUTED]
    if unknown:
        raise InputError(f"--recompute {' '.join(unknown)}: not a computed proxy; the proxies "
                         f"are {', '.join(COMPUTED)}")  # fmt: skip
    record = attrs["proxies"]
    running = record.get("redo")
    if running is not None:
        if names and sorted(set(names)) != running:
            raise InputError(
                f"the file is half way through recomputing {' '.join(running)}; finish that "
                f"first (--recompute {' '.join(running)}) before recomputing {' '.join(names)}"
            )
        return False
    if not names or not np.asarray(arrays[DONE], bool).any():
        return False
    record["redo"] = sorted(set(names))
    record["redo_cost"] = dict.fromkeys(("seconds", "cpu_seconds", "compile_seconds"), 0.0)
    arrays[REDO] = np.asarray(arrays[DONE], bool).copy()
    return True


def _finish_redo(arrays: dict, attrs: dict, command: str) -> None:
    """Drop the recompute marks once no row awaits it, recording what was done."""
    record = attrs["proxies"]
    if record.get("redo") is None or np.asarray(arrays[REDO]).any():
        return
    arrays.pop(REDO)
    cost = record.pop("redo_cost", None) or {"seconds": record.pop("redo_seconds", 0.0)}
    record.setdefault("recomputed", []).append({
        "proxies": record.pop("redo"), **cost,
        "versions": library_versions(), "command": command,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    })  # fmt: skip


def pending_rows(arrays: dict) -> np.ndarray:
    """Rows whose proxies are not computed yet, in row order."""
    rows = len(arrays["cells/row_raw"])
    done = arrays.get(DONE, np.zeros(rows, bool))
    return np.flatnonzero(~np.asarray(done, bool))


def _prepare(arrays: dict, attrs: dict, config: ProxiesConfig, batch: int) -> int:
    """Add the proxy arrays (all pending) and the `proxies` record if the file lacks them;
    returns the chunk size."""
    rows, seeds = len(arrays["cells/row_raw"]), len(attrs["seeds"])
    for name in COMPUTED:
        arrays.setdefault(f"metrics/{metric_name(name)}", np.full((rows, seeds), np.nan))
    arrays.setdefault(DONE, np.zeros(rows, bool))
    record = attrs.setdefault("proxies", {})
    record.setdefault("batch", batch)
    record.setdefault("proxies", list(COMPUTED))
    if list(record["proxies"]) != list(COMPUTED):  # done rows would keep the old set
        raise InputError(
            f"the file's proxies are {record['proxies']}; this version computes "
            f"{list(COMPUTED)}: a resume would leave its done rows without the others "
            "(compute them into a copy of the table without its proxies)"
        )
    for key in ("seconds", "cpu_seconds", "compile_seconds"):
        record.setdefault(key, 0.0)
    if record["batch"] != batch:
        raise InputError(f"the file's proxies used a batch of {record['batch']}, not {batch}")
    given = config.chunk
    chunk = given if given is not None else record.get("chunk_classes") or DEFAULT_CHUNK
    if chunk < 1:
        raise InputError(f"--chunk {chunk}: need at least one class per chunk")
    record["chunk_classes"] = int(min(chunk, max(rows, 1)))
    if config.recompute and not len(pending_rows(arrays)):
        return record["chunk_classes"]  # a recompute alone: its own record says the rest
    versions = library_versions()
    if versions_differ(record.get("versions", versions), versions):  # resumed under others
        record.setdefault("earlier_versions", []).append(record["versions"])
    record["versions"] = versions
    record["command"] = config.command
    return record["chunk_classes"]


def compute_proxies(path: str | Path, config: ProxiesConfig | None = None,
                    progress: bool = True) -> Table:  # fmt: skip
    """Compute every pending row's proxies into the table file at `path` and return the
    table. Raises MissingExtra without the `train` extra, MissingFileError without the file,
    InputError when another process writes it."""
    require("train", "proxies")
    config = config or ProxiesConfig()
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"table file {path} does not exist")
    with writer_lock(path):
        return _compute(path, config, progress)


def _compute(path: Path, config: ProxiesConfig, progress: bool) -> Table:
    from tqdm import tqdm

    from nasbench_lite.datasets import cache_dir, rebuild_dataset, table_dataset
    from nasbench_lite.generate.executors import enable_compilation_cache
    from nasbench_lite.proxies.batched import BATCH, proxy_cells
    from nasbench_lite.train.config import TrainConfig

    arrays, attrs = read_arrays(path)
    chunk = _prepare(arrays, attrs, config, BATCH)
    started = _start_redo(arrays, attrs, tuple(config.recompute))
    fresh = pending_rows(arrays)
    redo = np.flatnonzero(arrays[REDO]) if REDO in arrays else np.zeros(0, np.int64)
    pending = np.union1d(fresh, redo)
    rows = len(arrays["cells/row_raw"])
    if not len(pending):
        _finish_redo(arrays, attrs, config.command)
        return Table(arrays, attrs, str(path))
    if (cache := cache_dir()) is not None:
        # As generate's: a resumed run loads its programs instead of compiling them again
        # (minutes on a CPU).
        enable_compilation_cache(str(cache / "jax"))
    identity = table_dataset(attrs, str(path))
    data = rebuild_dataset(identity, config.data_dir, f"proxies for {path}")
    if started:  # written once the data is there: a Ctrl-C before the first chunk keeps it
        write_arrays(path, arrays, attrs)
    train_config = TrainConfig.from_dict(attrs["config"])
    seeds = np.asarray(attrs["seeds"], np.int64)
    ops = arrays["cells/ops"]
    log.info("%s: proxies of %d of %d rows to compute, %d classes x %d seeds per chunk",
             path, len(fresh), rows, chunk, len(seeds))  # fmt: skip
    record = attrs["proxies"]
    if len(redo):
        log.info("%s: %s of %d rows to compute again", path, ", ".join(record["redo"]),
                 len(redo))  # fmt: skip
    bar = tqdm(total=rows, initial=rows - len(pending), unit="cell", disable=not progress,
               file=sys.stderr)  # fmt: skip
    is_redo = np.zeros(rows, bool)
    is_redo[redo] = True
    is_redo[fresh] = False  # a row not computed yet gets every proxy
    try:
        for start in range(0, len(pending), chunk):
            part = pending[start : start + chunk]
            padded = np.resize(part, chunk)  # the same shape every call: one compilation
            cells = np.repeat(ops[padded], len(seeds), axis=0)
            result = proxy_cells(train_config, cells, np.tile(seeds, chunk), data,
                                 attrs["space"])  # fmt: skip
            n = len(part) * len(seeds)
            for name in COMPUTED:
                values = result.values[name][:n].reshape(len(part), len(seeds))
                rows_to = part if name in record.get("redo", ()) else part[~is_redo[part]]
                arrays[f"metrics/{metric_name(name)}"][rows_to] = values[np.isin(part, rows_to)]
            arrays[DONE][part] = True
            redone = int(is_redo[part].sum())
            fresh_rows, redo_cost = len(part) - redone, record.get("redo_cost")
            for cost, k in ((record, fresh_rows), (redo_cost, redone)):
                if cost is not None and k:  # each its rows' share; the padding nobody's
                    cost["seconds"] += result.seconds * k / chunk
                    cost["cpu_seconds"] += result.cpu_seconds * k / chunk
            compiled = record if fresh_rows >= redone or redo_cost is None else redo_cost
            compiled["compile_seconds"] += result.compile_seconds
            if REDO in arrays:
                arrays[REDO][part] = False
            _finish_redo(arrays, attrs, config.command)
            write_arrays(path, arrays, attrs)
            bar.update(len(part))
    finally:
        bar.close()
    return Table.open(path)
