"""A comparison's runs, in this process or in worker processes started safely from scripts.

`compare` runs its runs in processes started by multiprocessing's spawn method (fork is not
safe with the threads of JAX and BLAS). A spawned process first re-runs the script that
started it (as ``__mp_main__``), so that classes defined there can be unpickled; a script
calling `compare` at its top level, outside ``if __name__ == "__main__":``, would then start
another comparison in every worker. Python stops that with an error in each worker, and the
parent only sees its pool break. Here the parent detects such a call before starting any
process (the comparison then runs in one process), and a worker that gets there anyway
stops with a message saying what to add.

Ctrl-C is the parent's to handle: the workers start with SIGINT blocked and then ignore it;
the parent notes it, stops the workers after the run each is in (terminating any that do not
answer) and raises `Interrupted` holding the runs that finished.
"""

from __future__ import annotations

import ast
import inspect
import logging
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from nasbench_lite.backends.registry import BackendEntry, make_benchmark
from nasbench_lite.compare.config import Plan
from nasbench_lite.errors import InputError, Interrupted, RunFailed
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search

logger = logging.getLogger(__name__)

MAIN_GUARD = 'if __name__ == "__main__":'
ADVICE = (
    f"put the script's call under `{MAIN_GUARD}` (worker processes re-run the script that "
    f"started them), or pass jobs=1 to run every run in this process"
)


def _is_main_test(node: ast.expr) -> bool:
    """Whether `node` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return False
    sides = [node.left, node.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    texts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return isinstance(node.ops[0], ast.Eq) and names == ["__name__"] and texts == ["__main__"]


def guarded_lines(path: str | Path) -> list[tuple[int, int]] | None:
    """(first, last) line ranges of the top-level ``if __name__ == "__main__":`` blocks of the
    Python file at `path`; None when it cannot be read or parsed."""
    try:
        tree = ast.parse(Path(path).read_text(), filename=str(path))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    return [
        (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.If) and _is_main_test(node.test)
    ]


def workers_rerun_caller() -> bool:
    """Whether spawned workers would re-run the current call: it comes (at any depth) from
    the top-level code of the ``__main__`` script, outside its main guard. False when
    multiprocessing re-runs nothing: no script file (``python -c``, a notebook, the console)
    or a package's ``__main__.py``; and False when the script cannot be read (the
    worker-side check still applies)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    name = getattr(getattr(main, "__spec__", None), "name", None) or ""
    # multiprocessing never re-runs a __main__.py (python -m package, python folder/).
    if path is None or Path(path).stem == "__main__" or name.endswith(".__main__"):
        return False
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
                blocks = guarded_lines(path)
                line = frame.f_lineno
                return blocks is not None and not any(a <= line <= b for a, b in blocks)
            frame = frame.f_back
    finally:
        del frame  # frames hold references to every local up the stack
    return False


def check_not_bootstrapping(what: str) -> None:
    """Raise RuntimeError when called while this process is a spawned worker still re-running
    its parent's script (the state in which Python itself refuses to start processes)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            f"{what} was called while a worker process was re-running the script that "
            f"started it: {ADVICE}"
        )


def broken_pool_message(error: BaseException) -> str:
    """The message for a pool whose worker died before finishing its runs."""
    return (
        f"a worker process stopped before finishing its runs ({error}). If compare() is "
        f"called from a script, {ADVICE}; otherwise the process may have run out of memory "
        f"(try fewer jobs)."
    )


class Worker:
    """One process's benchmark (built once) and the strategies, run task after task."""

    def __init__(self, plan: Plan, table: Any = None) -> None:
        """plan: the resolved comparison (`compare.config.Plan`); table: the already opened
        table (else opened from the plan)."""
        table = plan.table if table is None else table
        from nasbench_lite.table.reader import as_table

        table = as_table(table)
        # The registry says which comparison options the backend is built from.
        kwargs = {
            arg: table if option == "table" else plan.option(option)
            for arg, option in plan.entry.compare_args.items()
        }
        self.benchmark = make_benchmark(plan.backend, **kwargs)
        self.table = table  # what objectives and constraints are measured on
        # Resolved once: an entry-point lookup scans the installed packages (~10 ms).
        self.classes = [get_strategy(s) for s in plan.strategies]
        self.plan = plan

    def run(self, task: tuple[int, int]) -> pd.DataFrame:
        index, seed = task
        plan = self.plan
        try:
            trajectory = run_search(
                self.classes[index],
                self.benchmark,
                plan.budget,
                seed,
                plan.workers,
                charge_overhead=plan.charge_overhead,
                data_dir=plan.data_dir,
                objectives=plan.objectives.objectives if plan.objectives else None,
                constraints=plan.objectives.constraints if plan.objectives else (),
                sources=plan.sources,
            )
        except InputError:
            raise  # already names the strategy and the problem
        except Exception as err:  # noqa: BLE001 - a strategy's own bug, named where it arose
            raise RunFailed(run_failure(plan.labels[index], seed, err)) from err
        frame = trajectory.to_frame(plan.labels[index], seed)
        if plan.sources is not None:  # results.csv names what each run learnt from
            uses = getattr(self.classes[index], "uses_sources", False)
            frame["sources"] = ";".join(plan.sources.names) if uses else ""
        if plan.objectives is None:
            return frame
        from nasbench_lite.compare.objectives import run_frame

        return run_frame(trajectory, frame, self.table, plan.objectives, self.benchmark)


def run_failure(label: str, seed: int, err: BaseException) -> str:
    """One line: which run raised what, and where (the innermost frame, e.g. a strategy's
    `tell`), since a worker process's traceback does not reach the command line."""
    import traceback

    frames = traceback.extract_tb(err.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"the run of {label!r} on seed {seed} raised {type(err).__name__}: {err}{where}"


_PROCESS_WORKER: Worker | None = None  # set once per pool process by `_init_process`
_STOP: Any = None  # the pool's stop event, set by the parent on Ctrl-C
# How long the parent waits, after Ctrl-C, for the workers to hand in the runs they were
# running before it terminates them.
STOP_GRACE_SECONDS = 10.0


def _init_process(plan: Plan, stop: Any, threads: int) -> None:
    global _PROCESS_WORKER, _STOP
    # The cores are shared out: an OpenMP pool (XGBoost's) as wide as the machine in every
    # process spins at its barriers while the others hold the cores, which made a surrogate
    # run many times slower. Set before anything in this process loads OpenMP; a value the
    # user set is kept.
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    # Ctrl-C is the parent's to handle. The process started with SIGINT blocked (see
    # `_run_in_pool`): ignoring it first discards a Ctrl-C that came during start-up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _STOP = stop
    _PROCESS_WORKER = Worker(plan)


def _run_in_process(items: list[tuple[int, tuple[int, int]]]) -> list[tuple[int, pd.DataFrame]]:
    done = []
    for index, task in items:
        if _STOP.is_set():  # the parent was interrupted: hand in what is finished
            break
        done.append((index, _PROCESS_WORKER.run(task)))
    return done


def _run_in_pool(plan: Plan, items: list, jobs: int, finish: Callable, interrupt) -> None:
    """Run `items` ((index, task) pairs) in `jobs` spawned processes, calling `finish(index,
    frame)` here as their chunks of runs come back.

    Ctrl-C only sets `interrupt` (an `InterruptFlag`), checked between short waits. Then
    the workers are told to stop after the run each is in (a tabular or surrogate run takes
    milliseconds), their finished runs are collected, the pool shuts down, and
    KeyboardInterrupt is raised; a worker that has not answered within STOP_GRACE_SECONDS is
    terminated.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from nasbench_lite.interrupts import sigint_blocked

    # Chunks amortise the per-task round trip; four per process keep the bar moving and
    # balance strategies of unequal cost.
    size = max(1, math.ceil(len(items) / (4 * jobs)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    pool = ProcessPoolExecutor(jobs, context, _init_process, (plan, stop, threads))
    # The processes start here, with SIGINT blocked (the mask survives fork and exec), so a
    # Ctrl-C during their start-up cannot raise in them; each ignores it before unblocking.
    # A Ctrl-C meanwhile reaches this process when the block ends.
    with sigint_blocked():
        futures = [pool.submit(_run_in_process, chunk) for chunk in chunks]
    collected = set()

    def collect(future) -> None:
        collected.add(future)
        for index, frame in future.result():
            finish(index, frame)

    try:
        pending = set(futures)
        while pending and not interrupt.is_set:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                collect(future)
    except BrokenProcessPool as err:
        _stop_pool(pool, stop)
        raise RuntimeError(broken_pool_message(err)) from err
    except BaseException:  # a run raised: the other workers are stopped, not left running
        _stop_pool(pool, stop)
        raise
    if not interrupt.is_set:
        pool.shutdown()
        return
    stop.set()
    for future in futures:
        future.cancel()  # those no worker has started; the rest stop at their next run
    running = [f for f in futures if not f.cancelled() and f not in collected]
    finished, late = wait(running, timeout=STOP_GRACE_SECONDS)
    for future in finished:
        if future.exception() is None:
            collect(future)
    if late:
        _end_processes(pool)
    else:
        pool.shutdown(wait=True)
    raise KeyboardInterrupt


def _stop_pool(pool: Any, stop: Any) -> None:
    """End every worker process of `pool` now and wait for them: none outlives the command
    (a worker left running would hold its output pipe open)."""
    stop.set()
    _end_processes(pool)


def _end_processes(pool: Any) -> None:
    """Terminate `pool`'s worker processes and shut it down; wait for them together up to
    STOP_GRACE_SECONDS, then kill any that has not ended (SIGTERM not acted on in time,
    e.g. on a loaded machine) and wait for those."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # joins them too, on its own
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(timeout=STOP_GRACE_SECONDS)
    if manager is not None:  # its clean-up done before the caller goes on
        manager.join(timeout=STOP_GRACE_SECONDS)


def run_tasks(
    plan: Plan,
    jobs: int,
    progress: bool,
    worker: Worker | None = None,
    kept: Mapping[tuple[int, int], pd.DataFrame] | None = None,
    record: Callable[[tuple[int, int], pd.DataFrame], None] | None = None,
) -> pd.DataFrame:
    """Run every (strategy index, seed) task of `plan` but the `kept` ones (finished
    earlier: their frames are used as they are); rows in strategy, then seed order. With one
    job the runs execute here, on `worker` if one is given (else a new one). `record(task,
    frame)` is called here as each run finishes (e.g. to keep it on disk).

    Ctrl-C raises `Interrupted` whose `partial` holds the finished runs, kept ones included
    (same order). Raises RuntimeError, saying what to change, when a worker process dies
    (e.g. a script that calls `compare` without a main guard).
    """
    from tqdm import tqdm

    from nasbench_lite.interrupts import InterruptFlag

    tasks = [(i, seed) for i in range(len(plan.strategies)) for seed in range(plan.seeds)]
    frames: dict[int, pd.DataFrame] = {}
    kept = kept or {}
    for index, task in enumerate(tasks):
        if task in kept:
            frames[index] = kept[task]
    todo = [(index, task) for index, task in enumerate(tasks) if index not in frames]
    bar = tqdm(
        total=len(tasks), initial=len(frames), desc="compare", unit="run", file=sys.stderr,
        disable=not progress,
    )  # fmt: skip

    def finish(index: int, frame: pd.DataFrame) -> None:
        if index in frames:
            return  # handed in twice: counted once
        frames[index] = frame
        bar.update()
        if record is not None:  # last: a Ctrl-C it held back finds the run counted
            record(tasks[index], frame)

    try:
        if jobs == 1 or len(todo) <= 1:
            worker = worker or Worker(plan)
            for index, task in todo:
                finish(index, worker.run(task))
        else:
            with InterruptFlag() as interrupt:
                _run_in_pool(plan, todo, jobs, finish, interrupt)
    except KeyboardInterrupt:
        kept_frames = [frames[i] for i in sorted(frames)]
        partial = pd.concat(kept_frames, ignore_index=True) if kept_frames else None
        message = f"interrupted after {len(frames)} of {len(tasks)} runs"
        raise Interrupted(message, len(frames), len(tasks), partial) from None
    finally:
        bar.close()
    ordered = [frames[i] for i in range(len(tasks))]
    empty = [(plan.labels[i], s) for (i, s), f in zip(tasks, ordered, strict=True) if f.empty]
    if empty:
        raise InputError(
            f"no evaluation finished in runs (strategy, seed) {empty[:5]}: budget "
            f"{plan.budget} ended before the first one (give a larger budget), or the strategy "
            "proposed no cell (its ask returned None with nothing running)"
        )
    return pd.concat(ordered, ignore_index=True)


def default_jobs(entry: BackendEntry, tasks: int) -> int:
    """CPU cores (at most one per task), or one for a backend whose runs must not share cores."""
    if not entry.parallel:
        return 1  # e.g. live training: JAX already uses every core for one batch
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, tasks))


def choose_jobs(jobs: int | None, entry: BackendEntry, tasks: int) -> int:
    """The processes to use: `jobs`, or `default_jobs` when None; but one when worker
    processes would re-run the calling script (a call outside its main guard)."""
    jobs = jobs or default_jobs(entry, tasks)
    if jobs > 1 and workers_rerun_caller():
        logger.warning(
            "compare() is called from a script's top-level code outside `%s`: worker "
            "processes would run the script again, so the %d runs use this one process; put "
            "the call under the guard to use %d processes",
            MAIN_GUARD,
            tasks,
            jobs,
        )
        return 1
    return jobs
