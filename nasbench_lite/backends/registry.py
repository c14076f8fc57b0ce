"""The backend registry: names -> `BackendEntry` records, and `make_benchmark`.

Ours are in `BACKENDS`; another package adds one through the entry-point group
``nasbench_lite.backends``, whose entries name a `BackendEntry` (see `nasbench_lite.plugins`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nasbench_lite import plugins
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
# entry here (or, from another package, a `BackendEntry` registered under the entry-point
# group nasbench_lite.backends): `make_benchmark`, the CLI's --backend choices, `compare` and
# its report all read this registry; the runner and the strategies talk to the protocol only.
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


def available_backends() -> list[str]:
    """The backend names: ours in registry order, then the plug-ins' (entry-point group
    ``nasbench_lite.backends``), sorted."""
    return [*BACKENDS, *_plugins()]


def _plugins() -> dict[str, Any]:
    return plugins.entry_points_beside(plugins.BACKENDS, BACKENDS, "backend")


def backend_entry(kind: str) -> BackendEntry:
    """The registry entry of backend `kind`, ours or a plug-in's.

    Raises InputError naming `kind` and the available backends for an unknown one, and for a
    plug-in that fails to load or names something other than a `BackendEntry`.
    """
    if kind in BACKENDS:
        return BACKENDS[kind]
    found = _plugins() if isinstance(kind, str) else {}
    available = ", ".join([*BACKENDS, *found])
    if kind not in found:
        raise InputError(f"unknown benchmark backend {kind!r}; available: {available}")
    entry = plugins.load(found[kind], "backend")
    if not isinstance(entry, BackendEntry):
        raise InputError(
            f"backend plug-in {kind!r} ({found[kind].value}) is {entry!r}, not a "
            "nasbench_lite.backends.BackendEntry"
        )
    return entry


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
    return plugins.resolve(entry.factory)(**kwargs)
