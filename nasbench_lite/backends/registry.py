"""The backend registry: names -> `BackendEntry` records, and `make_benchmark`."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from nasbench_lite.backends.base import Benchmark
from nasbench_lite.errors import InputError


@dataclass(frozen=True)
class BackendEntry:
    """One registered backend: how to build it and what a comparison needs to know about it.

    factory: "module:attribute" of its class, imported only when one is built.
    summary: what answers a query, in a few words (help texts, reports).
    compare_args: constructor keyword -> the comparison option that `compare` passes to it:
        "table" (the opened Table), "preset" or "dataset" (the trainer's, for live runs),
        "data_dir" (the directory of a file-based dataset; None for the others), "model" (a
        saved surrogate's directory).
    extra: the pyproject.toml extra its dependencies come from (None: the base install);
        building it without them raises `MissingExtra` naming the extra.
    parallel: a comparison may spread its runs over processes (False: one process, e.g. when
        one training batch already uses every core).
    default_budget: a comparison's budget when none is given (None: derived from the table's
        measured training times).
    """

    factory: str
    summary: str
    compare_args: dict[str, str] = field(default_factory=lambda: {"table": "table"})
    extra: str | None = None
    parallel: bool = True
    default_budget: str | None = None

    @property
    def options(self) -> list[str]:
        """The comparison options it reads besides the table and the data directory, which
        every comparison has (shown in commands, reports)."""
        return [o for o in self.compare_args.values() if o not in ("table", "data_dir")]


# name -> backend. Adding a backend is one module with a class following `Benchmark` and one
# entry here: `make_benchmark`, the CLI's --backend choices, `compare` and its report all
# read this registry; the runner and the strategies talk to the protocol only.
BACKENDS: dict[str, BackendEntry] = {
    "tabular": BackendEntry(
        factory="nasbench_lite.backends.tabular:TabularBenchmark",
        summary="table lookups, one training seed drawn per query",
    ),
    "live": BackendEntry(
        factory="nasbench_lite.backends.live:LiveBenchmark",
        summary="real training of the asked cells",
        compare_args={
            "reference": "table",
            "config": "preset",
            "data": "dataset",
            "data_dir": "data_dir",
        },
        extra="train",
        parallel=False,
        default_budget="10evals",
    ),
    "surrogate": BackendEntry(
        factory="nasbench_lite.backends.surrogate:SurrogateBenchmark",
        summary="XGBoost surrogate predictions, one noisy draw per query",
        compare_args={"model": "model", "reference": "table"},
        extra="surrogate",
    ),
}

# Named in the design but not built yet: asking for one says so.
PLANNED: tuple[str, ...] = ()


def available_backends() -> list[str]:
    """The registered backend names, in registry order."""
    return list(BACKENDS)


def backend_entry(kind: str) -> BackendEntry:
    """The registry entry of backend `kind`; ValueError naming it and the available ones."""
    available = ", ".join(BACKENDS)
    if kind in PLANNED:
        raise InputError(f"benchmark backend {kind!r} is not available yet; available: {available}")
    if kind not in BACKENDS:
        raise InputError(f"unknown benchmark backend {kind!r}; available: {available}")
    return BACKENDS[kind]


def make_benchmark(kind: str, **kwargs: Any) -> Benchmark:
    """Build backend `kind` with its keyword arguments ("tabular": table=Table|path, default
    the shipped table; "live": config, data, reference, space).

    Raises ValueError for an unknown backend, MissingExtra when its optional dependencies are
    not installed.
    """
    entry = backend_entry(kind)
    if entry.extra is not None:
        from nasbench_lite.extras import require

        require(entry.extra, f"the {kind} backend")
    module, attribute = entry.factory.split(":")
    return getattr(import_module(module), attribute)(**kwargs)
