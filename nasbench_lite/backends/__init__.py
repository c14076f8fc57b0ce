"""Benchmarks behind one protocol: table lookups, real training or surrogate predictions.

`make_benchmark(kind, ...)` builds one from the registry (`BACKENDS`); a strategy cannot tell
which one answers it.
"""

from nasbench_lite.backends.base import Benchmark, Coverage, Evaluation, Request
from nasbench_lite.backends.registry import (
    BACKENDS,
    BackendEntry,
    available_backends,
    backend_entry,
    make_benchmark,
)

__all__ = [
    "BACKENDS",
    "BackendEntry",
    "Benchmark",
    "Coverage",
    "Evaluation",
    "Request",
    "available_backends",
    "backend_entry",
    "make_benchmark",
]
