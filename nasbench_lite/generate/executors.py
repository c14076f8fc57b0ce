"""Executors that train the chunks of a table generation: in this process, or as Ray tasks.

Both yield (task, result) pairs as chunks finish; the caller is the single writer of the table.
Ray is optional and imported only when the Ray executor is built.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import queue
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkJob:
    """What every chunk of one generation shares (plain data, so Ray can ship it)."""

    config: dict  # TrainConfig.to_dict()
    dataset: str
    data_dir: str | None = None
    cache_dir: str | None = None  # JAX persistent compilation cache; None: off
    space: str = "nb201"  # a registered space name
    # The file's `dataset_fingerprint` as JSON: a worker (a Ray node with another mnist1d
    # release) checks its own examples against it before training. None: unchecked.
    fingerprint: str | None = None
    layout: str | None = None  # the trainer's layout; None: the worker's backend's


@dataclass(frozen=True)
class ChunkTask:
    """One `train_cells` call: `rows` (k,) table rows, padded to a fixed batch of pairs.

    cells: (K*S, 6) int8 op ids, class-major (pair i*S + s is class i, seed s); rows beyond k
    repeat earlier classes so that every call has the same shape. seeds: (K*S,) int64 values.
    """

    rows: np.ndarray
    cells: np.ndarray
    seeds: np.ndarray


@functools.cache
def enable_compilation_cache(cache_dir: str) -> None:
    """Point JAX's persistent compilation cache at `cache_dir` (once per process), so a resumed
    or parallel run loads the compiled trainer instead of compiling it again."""
    import jax

    os.makedirs(cache_dir, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    # Cache every program: the trainer compiles once per batch shape, and it is always worth it.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@functools.lru_cache(maxsize=2)
def _dataset(name: str, data_dir: str | None, fingerprint: str | None = None):
    import json

    from nasbench_lite.datasets import check_fingerprint, load_dataset

    data = load_dataset(name, data_dir)
    recorded = None if fingerprint is None else json.loads(fingerprint)
    check_fingerprint(recorded, data, f"a generation worker on {socket.gethostname()}")
    return data


def hardware() -> dict[str, Any]:
    """Accelerator and host of this process: device platform/kind/count, CPU count and model,
    OS. The CPU model matters on a CPU-made table: its train_seconds are this CPU's time."""
    import jax

    devices = jax.local_devices()
    return {
        "device_platform": devices[0].platform,
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo's first "model name"), else the processor name
    Python reports, else "unknown"."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_chunk(job: ChunkJob, cells: np.ndarray, seeds: np.ndarray) -> dict[str, Any]:
    """Train one chunk and return plain numpy results (the fields of `TrainResult`)."""
    from nasbench_lite.train.config import TrainConfig
    from nasbench_lite.train.trainer import train_cells

    if job.cache_dir:
        enable_compilation_cache(job.cache_dir)
    import jax

    from nasbench_lite.train.layout import default_layout

    config = TrainConfig.from_dict(job.config)
    data = _dataset(job.dataset, job.data_dir, job.fingerprint)
    layout = job.layout or default_layout(jax.default_backend())
    result = train_cells(config, cells, seeds, data, layout=layout, space=job.space)
    return {
        "metrics": result.metrics,
        "diverged": result.diverged,
        "params": result.params,
        "flops": result.flops,
        "train_seconds": result.train_seconds,
        "seconds": float(result.seconds),
        "cpu_seconds": float(result.cpu_seconds),
        "compile_seconds": float(result.compile_seconds),
        # The trainer's program is part of what timed the chunk: recorded with the hardware,
        # so a resume under another layout is listed (and warned about) like other hardware.
        "hardware": {**hardware(), "layout": layout},
    }


# The name of the threads that train chunks for a `LocalExecutor`.
TRAINER_THREAD = "nasbench-lite-trainer"
_DONE = object()


class LocalExecutor:
    """Trains chunks one after another in a background thread of this process and hands
    them to the caller's thread as they finish.

    Training runs in native code (XLA compilation and execution). A Ctrl-C raised on return
    from it, or an interpreter shutting down while XLA's own threads still run, can crash the
    process; with training on its own thread, Ctrl-C reaches the caller's loop while it
    waits and the chunk in flight is abandoned (a daemon thread: it ends with the process,
    which the CLI leaves with os._exit rather than tear the interpreter down under XLA).
    """

    name = "local"

    def __init__(self, job: ChunkJob) -> None:
        self.job = job
        self._stop = threading.Event()
        self._finished: queue.Queue = queue.Queue()
        # The chunk handed to the caller and not yet asked past: a Ctrl-C between the
        # hand-over and the caller's write would otherwise lose it (`drain` returns it).
        self._handing: tuple[ChunkTask, dict[str, Any]] | None = None

    def _train(self, tasks: list[ChunkTask]) -> None:
        try:
            for task in tasks:
                if self._stop.is_set():
                    break
                self._finished.put((task, run_chunk(self.job, task.cells, task.seeds)))
        except BaseException as err:  # handed to the caller's thread, raised there
            self._finished.put((None, err))
        self._finished.put((_DONE, None))

    def run(self, tasks: Iterable[ChunkTask]) -> Iterator[tuple[ChunkTask, dict[str, Any]]]:
        thread = threading.Thread(
            target=self._train, args=(list(tasks),), name=TRAINER_THREAD, daemon=True
        )
        thread.start()
        while True:
            # A timeout keeps the wait interruptible (Ctrl-C is handled between waits).
            try:
                task, result = self._finished.get(timeout=0.2)
            except queue.Empty:
                continue
            if task is _DONE:
                return
            if task is None:
                raise result
            self._handing = (task, result)
            yield task, result
            self._handing = None

    def drain(self) -> list[tuple[ChunkTask, dict[str, Any]]]:
        """The chunks that finished but were not handed over yet (after an interrupt), the
        one handed over last first: the caller skips it if it kept it already."""
        items = [self._handing] if self._handing is not None else []
        self._handing = None
        while True:
            try:
                task, result = self._finished.get_nowait()
            except queue.Empty:
                return items
            if task is not None and task is not _DONE:
                items.append((task, result))

    def close(self) -> None:
        """Stop after the chunk in flight (it is not waited for)."""
        self._stop.set()


def import_ray():
    """The `ray` module, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "the Ray executor needs the optional dependency ray: "
            "pip install 'nasbench-lite[ray]' (or pip install ray)"
        ) from err
    return ray


class RayExecutor:
    """Chunks as Ray remote tasks (one GPU each if the cluster has GPUs, else one CPU),
    gathered with `ray.wait` in the order they finish."""

    name = "ray"

    def __init__(self, job: ChunkJob, address: str | None = None) -> None:
        self.ray = import_ray()
        self.job = job
        self._owns_ray = not self.ray.is_initialized()
        if self._owns_ray:
            self.ray.init(address=address, include_dashboard=False, log_to_driver=False)
        gpus = self.ray.cluster_resources().get("GPU", 0)
        self.options = {"num_gpus": 1} if gpus else {"num_cpus": 1}
        log.info("Ray executor: %s per chunk", self.options)

    def run(self, tasks: Iterable[ChunkTask]) -> Iterator[tuple[ChunkTask, dict[str, Any]]]:
        ray = self.ray
        remote = ray.remote(run_chunk).options(**self.options)
        job_ref = ray.put(self.job)
        pending = {remote.remote(job_ref, t.cells, t.seeds): t for t in tasks}
        try:
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1)
                for ref in finished:
                    yield pending.pop(ref), ray.get(ref)
        finally:
            for ref in pending:  # the driver stopped early: do not leave work running
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._owns_ray:
            self.ray.shutdown()


def make_executor(name: str, job: ChunkJob, ray_address: str | None = None):
    """`local` or `ray` executor for `job`."""
    if name == "local":
        return LocalExecutor(job)
    if name == "ray":
        return RayExecutor(job, ray_address)
    raise InputError(f"unknown executor {name!r}; choose 'local' or 'ray'")
