"""One XLA CPU device per core, so ``train_cells`` spreads a batch over every core of a CPU.

XLA runs the many small ops of one tiny network with little intra-op parallelism: a 2-core
machine training a batch on one CPU device keeps about one and a half cores busy.
``train_cells`` already shards its pairs over all local devices, so asking XLA for one host
device per core (``--xla_force_host_platform_device_count``) lets each core train its own
share of the batch. On the 2-core development machine batched training then ran 1.2-1.4x
the one-cell-at-a-time rate per cell, where on a single CPU device it was only at parity
(docs/throughput.md). Accelerators are not affected: the flag only
sets how many CPU devices exist, and JAX uses a GPU or TPU first when there is one.

The flag is read when JAX starts its CPU backend, so ``use_cpu_cores`` must run before
anything imports JAX; the command line and the benchmark scripts call it first thing.
"""

from __future__ import annotations

import os
import sys

from nasbench_lite.errors import InputError

FLAG = "--xla_force_host_platform_device_count"


def cpu_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def use_cpu_cores(count: int | None = None) -> int | None:
    """Ask XLA for ``count`` (default: one per core) CPU devices; returns the count set.

    Leaves everything as it is, and returns None, when XLA_FLAGS already names the flag
    (the user's choice wins) or when JAX is already imported (too late to take effect; the
    environment is then not touched, so child processes see the same devices as this one).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if FLAG in flags or "jax" in sys.modules:
        return None
    count = cpu_cores() if count is None else count
    if count < 1:
        raise InputError(f"use_cpu_cores: count must be at least 1, got {count}")
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}={count}".strip()
    return count
