"""Measured latency into a table file, in chunks, resumably (like `proxies`).

Every batch size b of the recipe becomes a per-class metric `/metrics/latency_b<b>` (rows,)
float64, CPU seconds per forward pass, NaN until its row is measured: the class's median
ratio to the reference network timed in the same rounds (`latency.measure`) times the
reference's median time in the first chunk the file measured (recorded in the `latency`
attribute's `reference_seconds`), so that a drift of the machine's speed between chunks does
not reorder classes. `/latency/spread_b<b>` holds the interquartile range of the ratios over
rounds on the same scale, `/latency/raw_b<b>` the class's own median CPU seconds (not
corrected for drift), and `/latency/done` (rows,) bool marks the measured rows. The root
attribute `latency` (JSON) records the recipe, the timed program (`latency.measure.PROGRAM`;
absent in files measured with LEGACY_PROGRAM), the hardware, the XLA flags and the time spent.
Every row of the file is measured, trained or not (latency does not depend on training).
After every chunk the whole file is rewritten atomically, under the table's exclusive writer
lock, so a stopped run resumes from its last finished chunk; a file measured on other hardware,
with another recipe or program, or under another jax or jaxlib is refused.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench_lite.errors import InputError, MissingFileError
from nasbench_lite.extras import require
from nasbench_lite.generate.lock import writer_lock
from nasbench_lite.latency.measure import LEGACY_PROGRAM, PROGRAM, LatencyRecipe
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import library_versions, read_arrays, write_arrays

log = logging.getLogger(__name__)

DONE = "latency/done"
DEFAULT_CHUNK = 64  # rows per file write
COMPILER = ("jax", "jaxlib")  # a resumed measurement must use the same


def metric_name(batch: int) -> str:
    return f"latency_b{batch}"


def spread_name(batch: int) -> str:
    return f"latency/spread_b{batch}"


def raw_name(batch: int) -> str:
    return f"latency/raw_b{batch}"


@dataclass(frozen=True)
class LatencyConfig:
    """Options of `nasbench-lite latency`."""

    recipe: LatencyRecipe | None = None
    chunk: int = DEFAULT_CHUNK
    command: str = ""
    jobs: int = 1  # worker processes, one chunk each at a time (1: this process)
    restart: bool = False  # discard the file's latency first (`drop_latency`)


def drop_latency(arrays: dict, attrs: dict) -> None:
    """Remove a table's latency, measured or copied: the `latency` attribute, its metrics
    and `/latency/*` (to measure it again, e.g. with another program or on another machine)."""
    attrs.pop("latency", None)
    for name in [n for n in arrays if n.startswith(("latency/", "metrics/latency_b"))]:
        del arrays[name]


def pending_rows(arrays: dict) -> np.ndarray:
    rows = len(arrays["cells/row_raw"])
    return np.flatnonzero(~np.asarray(arrays.get(DONE, np.zeros(rows, bool)), bool))


def machine_record() -> dict:
    """This process's hardware (`generate.executors.hardware`, the CPU's model name
    included)."""
    from nasbench_lite.generate.executors import hardware

    return hardware()


def _same_machine(record: dict | None) -> tuple:
    """What must match for two latencies to be comparable: the CPU model and count, the
    architecture and device kind (not the OS build, which a rebooted machine may change)."""
    record = record or {}
    return tuple(record.get(k) for k in ("cpu_model", "cpu_count", "machine", "device_kind"))


def provenance(record: dict) -> str:
    """Where and how a table's latency (its `latency` attribute) was measured, in one line
    (card and `info`)."""
    machine = record.get("hardware") or {}
    batches = ", ".join(str(b) for b in record.get("batches", []))
    hours = record.get("seconds", 0) / 3600
    pool = "one thread" if threads_of(record) == "one" else "its default thread pool"
    line = (f"batches {batches}; {machine.get('cpu_model', '?')}, {machine.get('cpu_count', '?')} "
            f"CPUs, XLA CPU on {pool}, {record.get('rounds', '?')} rounds; program reads "
            f"{record.get('program', LEGACY_PROGRAM)}; {hours:.2f} h")  # fmt: skip
    source = record.get("copied_from")
    if source:
        line += f"; copied from `{source.get('table')}` (dataset `{source.get('dataset')}`)"
    return line


def threads_of(record: dict) -> str:
    """The XLA CPU threads a latency record's programs ran on: "one" (the flag was set
    before JAX started; records before this key: by their `xla_flags`) or "default"."""
    from nasbench_lite.latency.measure import SINGLE_THREAD

    if "threads" in record:
        return str(record["threads"])
    return "one" if SINGLE_THREAD in str(record.get("xla_flags", "")) else "default"


def _prepare(arrays: dict, attrs: dict, recipe: LatencyRecipe, machine: dict,
             threads: str = "one") -> None:  # fmt: skip
    rows = len(arrays["cells/row_raw"])
    wanted = {"batches": list(recipe.batches), "rounds": recipe.rounds,
              "calls": {str(b): recipe.calls_for(b) for b in recipe.batches},
              "program": PROGRAM, "threads": threads}  # fmt: skip
    record = attrs.get("latency")
    if record is not None:
        kept = {key: record.get(key) for key in wanted}
        kept["program"] = record.get("program", LEGACY_PROGRAM)
        kept["threads"] = threads_of(record)
        if kept != wanted:
            raise InputError(
                f"the file's latency was measured with {kept}, not {wanted}; --restart "
                "discards it and measures anew"
            )
        if _same_machine(record.get("hardware")) != _same_machine(machine):
            raise InputError(
                f"the file's latency was measured on {record.get('hardware')}, this machine is "
                f"{machine}: latencies of two machines do not mix in one table (--restart "
                "discards the file's and measures anew)"
            )
        versions, now = record.get("versions") or {}, library_versions()
        for package in COMPILER:  # what compiles the timed programs
            if package in versions and versions[package] != now.get(package):
                raise InputError(
                    f"the file's latency was measured with {package} {versions[package]}, this "
                    f"is {package} {now.get(package)}: programs compiled by two versions do "
                    "not time alike, so their latencies do not mix in one table (--restart "
                    "discards the file's and measures anew)"
                )
    else:
        record = attrs["latency"] = {**wanted, "hardware": machine, "seconds": 0.0,
                                     "cpu_seconds": 0.0, "compile_seconds": 0.0}  # fmt: skip
    for batch in recipe.batches:
        arrays.setdefault(f"metrics/{metric_name(batch)}", np.full(rows, np.nan))
        arrays.setdefault(spread_name(batch), np.full(rows, np.nan))
        arrays.setdefault(raw_name(batch), np.full(rows, np.nan))
    arrays.setdefault(DONE, np.zeros(rows, bool))
    pool = "one thread" if threads == "one" else "its default thread pool"
    record["method"] = (
        f"process CPU seconds per forward pass, XLA CPU on {pool}: median over rounds of "
        "the ratio to a reference network timed in the same round (every program once per "
        "round, in random order) times the reference's median in the first chunk "
        "(reference_seconds); spread: the ratios' interquartile range on the same scale"
    )
    record["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    record["versions"] = library_versions()


def measure_latency(path: str | Path, config: LatencyConfig | None = None,
                    progress: bool = True) -> Table:  # fmt: skip
    """Measure every pending row's latency into the table file at `path`; return the table.
    Raises MissingExtra without the `train` extra, MissingFileError without the file,
    InputError when another process writes it or it holds another machine's latencies."""
    require("train", "latency")
    config = config or LatencyConfig()
    if config.chunk < 1:
        raise InputError(f"--chunk {config.chunk}: need at least one row per chunk")
    if not 1 <= config.jobs <= (os.cpu_count() or 1):
        raise InputError(
            f"--jobs {config.jobs}: need 1 to {os.cpu_count() or 1} (this machine's CPUs), "
            "one measuring process per core"
        )
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"table file {path} does not exist")
    with writer_lock(path):
        return _measure(path, config, progress)


def measure_part(task: tuple) -> dict:
    """`latency.measure` of one chunk, in this process or a worker: task = (trainer config
    dict, space name, input shape, number of classes, ops (n, edges), recipe); the result
    has `cpu_seconds` added."""
    from nasbench_lite.latency.measure import measure
    from nasbench_lite.spaces import get_space
    from nasbench_lite.train.config import TrainConfig

    config, space, shape, num_classes, ops, recipe = task
    cpu = time.process_time()
    result = measure(TrainConfig.from_dict(config), get_space(space), shape, num_classes, ops,
                     recipe)  # fmt: skip
    result["cpu_seconds"] = time.process_time() - cpu
    return result


def _indexed(item: tuple) -> tuple:
    index, task = item
    return index, measure_part(task)


def _worker_start(cache: str | None) -> None:
    """A worker ignores Ctrl-C (the parent stops it), runs XLA on one thread and shares the
    parent's compilation cache (`cache`, or none)."""
    import signal

    from nasbench_lite.generate.executors import enable_compilation_cache
    from nasbench_lite.latency.measure import single_thread_flags

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    single_thread_flags()
    if cache is not None:
        enable_compilation_cache(cache)


def _results(tasks: list, jobs: int, cache: str | None):
    """Yield (index, result) of `measure_part` over `tasks`: in order in this process with
    one job, else as `jobs` worker processes finish them (each takes one chunk at a time).
    The workers are stopped when the caller stops (Ctrl-C, an error, a full disk)."""
    if jobs == 1:
        yield from ((i, measure_part(task)) for i, task in enumerate(tasks))
        return
    import multiprocessing

    pool = multiprocessing.get_context("spawn").Pool(jobs, _worker_start, (cache,))
    try:
        yield from pool.imap_unordered(_indexed, enumerate(tasks))
    finally:
        pool.terminate()
        pool.join()


def _measure(path: Path, config: LatencyConfig, progress: bool) -> Table:
    from nasbench_lite.latency.measure import single_thread_flags

    # Before JAX starts in this process, when it has not yet (the command line); workers
    # (--jobs 2 or more) start anew and always can. A caller that imported JAX first times
    # on XLA's default pool, recorded so, and never mixed with one-thread rows on resume.
    single = single_thread_flags() or config.jobs > 1
    from tqdm import tqdm

    from nasbench_lite.datasets import cache_dir
    from nasbench_lite.generate.executors import enable_compilation_cache
    from nasbench_lite.table.reader import Table as Opened

    arrays, attrs = read_arrays(path)
    if config.restart:
        drop_latency(arrays, attrs)
    recipe = config.recipe or LatencyRecipe()
    _prepare(arrays, attrs, recipe, machine_record(), "one" if single else "default")
    if config.restart:  # written now: a run stopped before its first chunk resumes anew
        write_arrays(path, arrays, attrs)
    pending = pending_rows(arrays)
    rows = len(arrays["cells/row_raw"])
    record = attrs["latency"]
    record["command"] = config.command
    if not len(pending):
        return Table(arrays, attrs, str(path))
    cache = None if (folder := cache_dir()) is None else str(folder / "jax")
    if cache is not None:
        enable_compilation_cache(cache)  # a resumed run loads its programs
    identity = Opened(arrays, attrs, str(path)).dataset_identity
    task = (attrs["config"], attrs["space"], tuple(identity.input_shape), identity.num_classes)
    parts = [
        pending[start : start + config.chunk] for start in range(0, len(pending), config.chunk)
    ]
    tasks = [(*task, arrays["cells/ops"][part], recipe) for part in parts]
    log.info("%s: latency of %d of %d rows to measure", path, len(pending), rows)
    bar = tqdm(total=rows, initial=rows - len(pending), unit="cell", disable=not progress,
               file=sys.stderr)  # fmt: skip
    try:
        wall = time.perf_counter()
        for i, result in _results(tasks, config.jobs, cache):
            part = parts[i]
            scale = record.setdefault(
                "reference_seconds", {str(b): result["reference"][b] for b in recipe.batches}
            )
            for batch in recipe.batches:
                reference = scale[str(batch)]
                arrays[f"metrics/{metric_name(batch)}"][part] = result["ratio"][batch] * reference
                arrays[spread_name(batch)][part] = result["spread"][batch] * reference
                arrays[raw_name(batch)][part] = result["median"][batch]
            arrays[DONE][part] = True
            now = time.perf_counter()
            record["seconds"] += now - wall
            wall = now
            record["cpu_seconds"] += result["cpu_seconds"]
            record["compile_seconds"] += result["compile_seconds"]
            write_arrays(path, arrays, attrs)
            bar.update(len(part))
    finally:
        bar.close()
    return Table.open(path)
