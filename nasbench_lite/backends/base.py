"""Benchmark backends: one protocol answering "train this cell" by table lookup or real training.

A strategy never sees which backend answers; the runner calls `evaluate_many` and hands only
the validation accuracy and the cost on. Lookups are pure: a backend keeps no counters and no
random state of its own; the run's generator is passed in and the runner spends the budget.
NAS-Bench-101 style noise: a tabular query draws one of the table's training seeds.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, NamedTuple, Protocol

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.spaces.subspace import SubSpace


class Evaluation(NamedTuple):
    """One training run's outcome: accuracies (fractions; NaN if it diverged) at `epoch` and
    the cost in seconds (> 0) of the epochs trained for it.

    epoch: the epoch that answered (1-based; None: the schedule's last, for a backend that
    does not say). run: which training run answered (the table's seed, the live trainer's
    seed, the surrogate's noise draw); a `Request` carrying it continues that same run.
    """

    valid_acc: float
    test_acc: float
    cost_seconds: float
    epoch: int | None = None
    run: Any = None


class Request(NamedTuple):
    """Train `raw` to `epoch` (1-based) of the benchmark's E-epoch schedule.

    run: None starts a new training run (drawn with the run's generator, exactly as
    `evaluate` draws it); an earlier Evaluation's `run` continues that run from
    `start_epoch` (the epoch it reached), and the cost is only that of epochs
    start_epoch + 1 .. epoch.
    """

    raw: int
    epoch: int
    run: Any = None
    start_epoch: int = 0


def check_request(request: Request, epochs: int, where: str) -> None:
    """InputError unless 1 <= epoch <= epochs and 0 <= start_epoch < epoch (with a run)."""
    epoch, start = request.epoch, request.start_epoch
    if (
        isinstance(epoch, bool)
        or not isinstance(epoch, (int, np.integer))
        or not (1 <= epoch <= epochs)
    ):
        raise InputError(
            f"{where}: epoch {epoch!r} of raw cell {request.raw} is not in 1..{epochs}"
        )
    if request.run is None and start != 0:
        raise InputError(f"{where}: start_epoch {start!r} without a run to continue")
    if not isinstance(start, (int, np.integer)) or not 0 <= start < epoch:
        raise InputError(
            f"{where}: cannot continue raw cell {request.raw} from epoch {start!r} to {epoch}"
        )


class Benchmark(Protocol):
    """What the runner needs from a backend.

    space: the search space its cells come from.
    best_test_acc: best noise-free mean test accuracy in the space (regret's reference), NaN
        when the backend does not know it. A backend answering only part of the space has the
        restricted view as `space` and the best over that part here.
    """

    space: Any
    best_test_acc: float

    def evaluate(self, raw: int, rng: np.random.Generator) -> Evaluation:
        """Train (or look up) one raw cell once."""
        ...

    def evaluate_many(self, raws: Sequence[int], rng: np.random.Generator) -> list[Evaluation]:
        """Evaluations of cells that start together (concurrent workers)."""
        ...

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        """(n,) float64 noise-free mean test accuracy of int raws (n,); NaN where unknown."""
        ...


class FidelityBenchmark(Benchmark, Protocol):
    """A backend that also answers at fewer epochs and continues runs (all of ours do).

    epochs: E, the length of the training schedule (the full fidelity).
    """

    epochs: int

    def evaluate_requests(
        self, requests: Sequence[Request], rng: np.random.Generator
    ) -> list[Evaluation]:
        """One Evaluation per request, in order; new runs draw from `rng` like `evaluate`."""
        ...


class Coverage(NamedTuple):
    """How much of the space a table answers: available classes and raw cells, of all."""

    classes: int
    total_classes: int
    cells: int
    total_cells: int

    @property
    def complete(self) -> bool:
        """Every raw cell of the space is answered."""
        return self.cells == self.total_cells

    @property
    def class_fraction(self) -> float:
        return self.classes / self.total_classes

    @property
    def cell_fraction(self) -> float:
        return self.cells / self.total_cells

    def describe(self) -> str:
        """The sentence reports and the CLI print for a partial table."""
        return (
            f"search restricted to {self.classes:,} of {self.total_classes:,} classes "
            f"({self.cells:,} of {self.total_cells:,} raw cells) available in this table; "
            f"regret is relative to the best available cell"
        )


class TabularBenchmark:
    """Answers from a `Table`: the run's generator picks one training seed per query.

    valid_acc and test_acc are that seed's final epoch, the cost is that seed's measured
    train_seconds. Means for reports average the seeds that did not diverge. At fewer epochs
    (`evaluate_requests`) the answer is the seed's curve at that epoch of the one E-epoch
    cosine schedule (the table holds no shorter schedules: an early-stopped run, as in
    NAS-Bench-101's intermediate epochs), and the cost is the seed's train_seconds * e / E.

    A table may hold only some classes (a sampled table, or one still being generated): a
    raw cell is available when its class has a row that is done. `space` is then the full
    space restricted to the available cells (`SubSpace`), so a strategy built on it never
    proposes a missing cell, `coverage` says how much is available, and `best_test_acc`
    (regret's reference) is the best over the available cells: regret within the sub-space.
    Evaluating a missing cell raises ValueError.
    """

    def __init__(self, table: Any = None) -> None:
        """table: a `Table` or the path of a table file (None: the shipped
        table, see `nasbench_lite.table.shipped.default_table_path`)."""
        if table is None:
            from nasbench_lite.table.shipped import default_table_path

            table = default_table_path()
        if isinstance(table, (str, os.PathLike)):
            from nasbench_lite.table.reader import Table

            table = Table.open(table)
        rows = np.asarray(table.raw_to_row)
        available = rows >= 0
        available[available] = table.done[rows[available]]
        if not available.any():
            raise InputError(
                f"table {table.source} has no trained class yet: there is nothing to search"
            )
        used = np.unique(rows[available])  # the rows that answer
        seconds = table.metric("train_seconds")
        if not (np.isfinite(seconds[used]) & (seconds[used] > 0)).all():
            raise InputError(
                f"table {table.source} has train_seconds that are not finite and positive; "
                f"a cost must be a measured positive time"
            )
        space = table.space
        self.table = table
        self.coverage = Coverage(
            classes=len(np.unique(np.asarray(space.canonical_ids)[available])),
            total_classes=int(space.num_unique),
            cells=int(available.sum()),
            total_cells=int(space.num_cells),
        )
        self.space = space if self.coverage.complete else SubSpace(space, available)
        self.num_seeds = table.num_seeds
        self.epochs = table.num_epochs
        self._rows = rows.tolist()
        self._curves: dict[str, list] = {}  # filled on the first `evaluate_requests`
        # Per raw cell, per seed: plain Python lists index faster than numpy for one element,
        # and a query is one element. Cells of one class share their row's list; a missing
        # cell holds None.
        final = {
            m: table.metric(m)[:, :, -1].astype(np.float64).tolist()
            for m in ("valid_acc", "test_acc")
        }
        final["cost"] = seconds.astype(np.float64).tolist()
        pairs = list(zip(rows.tolist(), available.tolist(), strict=True))
        self._valid = [final["valid_acc"][r] if ok else None for r, ok in pairs]
        self._test = [final["test_acc"][r] if ok else None for r, ok in pairs]
        self._cost = [final["cost"][r] if ok else None for r, ok in pairs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a row whose seeds all diverged
            mean = np.nanmean(table.metric("test_acc")[:, :, -1].astype(np.float64), axis=1)
        self._mean_test = np.where(available, mean[rows], np.nan)
        self._mean_test.flags.writeable = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # every available seed diverged
            self.best_test_acc = float(np.nanmax(self._mean_test))

    def __repr__(self) -> str:
        c = self.coverage
        return (
            f"TabularBenchmark({self.table!r}, {c.classes:,} of {c.total_classes:,} classes "
            f"answered)"
        )

    def evaluate(self, raw: int, rng: np.random.Generator) -> Evaluation:
        valid = self._valid[raw]
        if valid is None:
            raise InputError(
                f"raw cell {raw} is not available in table {self.table.source} (its class is "
                f"not in the table or not trained yet); propose cells of the benchmark's space"
            )
        # random() is a third of the cost of integers() for one draw; int(u * n) < n for u < 1.
        seed = int(rng.random() * self.num_seeds)
        return Evaluation(
            valid[seed], self._test[raw][seed], self._cost[raw][seed], self.epochs, seed
        )

    def evaluate_many(self, raws: Sequence[int], rng: np.random.Generator) -> list[Evaluation]:
        # Same draws as calling `evaluate` for each cell in turn.
        return [self.evaluate(raw, rng) for raw in raws]

    def evaluate_requests(
        self, requests: Sequence[Request], rng: np.random.Generator
    ) -> list[Evaluation]:
        if not self._curves:
            for m in ("valid_acc", "test_acc"):
                self._curves[m] = self.table.metric(m).astype(np.float64).tolist()
        out = []
        for request in requests:
            check_request(request, self.epochs, f"table {self.table.source}")
            raw, epoch = request.raw, request.epoch
            if self._valid[raw] is None:
                self.evaluate(raw, rng)  # raises: the cell is not available
            seed = request.run
            if seed is None:  # a new run: the same draw as `evaluate`
                seed = int(rng.random() * self.num_seeds)
            elif not (isinstance(seed, int) and 0 <= seed < self.num_seeds):
                raise InputError(f"run {seed!r} is not a seed index of table {self.table.source}")
            row = self._rows[raw]
            share = (epoch - request.start_epoch) / self.epochs
            out.append(
                Evaluation(
                    self._curves["valid_acc"][row][seed][epoch - 1],
                    self._curves["test_acc"][row][seed][epoch - 1],
                    self._cost[raw][seed] * share,
                    epoch,
                    seed,
                )
            )
        return out

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        return self._mean_test[np.asarray(raws, dtype=np.int64)]


class LiveBenchmark:
    """Answers by training: the cells asked together are trained together in one compiled
    batch (`train_cells`) and all finish when the batch does, after its measured seconds
    (compilation excluded, as in a table's train_seconds).

    At fewer epochs (`evaluate_requests`) it trains the first e epochs of the E-epoch
    schedule. A run is its training seed; continuing it from epoch e1 to e2 retrains the same
    seed to e2 (the same computation, so the same result as resuming from a checkpoint) and
    charges only the (e2 - e1) / e2 share of the measured time: the cost of a resumed run.

    Without a reference table there is no noise-free mean: `mean_test_acc` is NaN, regret is
    NaN, and the runner reports the incumbent's own measured test accuracy instead.
    """

    def __init__(
        self,
        config: Any = "tiny",
        data: Any = "mnist1d",
        *,
        reference: Any = None,
        space: Any = "nb201",
    ) -> None:
        """config: a TrainConfig or preset name; data: a Dataset or dataset name; reference:
        an optional Table (or path) trained on the same dataset, for means and regret;
        space: a space object or name.

        Raises MissingExtra without the `train` extra (JAX and the datasets).
        """
        from nasbench_lite.extras import require

        require("train", "the live backend")
        from nasbench_lite.datasets import load_dataset
        from nasbench_lite.spaces import get_space
        from nasbench_lite.train.trainer import get_preset

        self.preset = config if isinstance(config, str) else None
        self.config = get_preset(config) if isinstance(config, str) else config
        self.data = load_dataset(data) if isinstance(data, str) else data
        self.space = get_space(space) if isinstance(space, str) else space
        self.epochs = self.config.epochs
        self._mean_test = np.full(self.space.num_cells, np.nan)
        self.best_test_acc = float("nan")
        if reference is not None:
            self._use_reference(reference)

    def __repr__(self) -> str:
        recipe = f"preset {self.preset!r}" if self.preset else "a custom TrainConfig"
        reference = "with" if np.isfinite(self.best_test_acc) else "without"
        return (
            f"LiveBenchmark({self.space.name}/{self.data.name}, {recipe}, "
            f"{self.config.epochs} epochs, {reference} a reference table)"
        )

    def _use_reference(self, reference: Any) -> None:
        if isinstance(reference, (str, os.PathLike)):
            from nasbench_lite.table.reader import Table

            reference = Table.open(reference)
        if reference.attrs.get("dataset") != self.data.name:
            raise InputError(
                f"reference table {reference.source} was trained on dataset "
                f"{reference.attrs.get('dataset')!r}, not {self.data.name!r}"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(reference.metric("test_acc")[:, :, -1].astype(np.float64), axis=1)
        mean[~reference.done] = np.nan
        known = reference.raw_to_row >= 0
        self._mean_test[known] = mean[reference.raw_to_row[known]]
        self.best_test_acc = float(np.nanmax(mean))

    def evaluate(self, raw: int, rng: np.random.Generator) -> Evaluation:
        return self.evaluate_many([raw], rng)[0]

    def evaluate_many(self, raws: Sequence[int], rng: np.random.Generator) -> list[Evaluation]:
        return self.evaluate_requests([Request(int(r), self.epochs) for r in raws], rng)

    def evaluate_requests(
        self, requests: Sequence[Request], rng: np.random.Generator
    ) -> list[Evaluation]:
        from nasbench_lite.train.trainer import train_cells

        for request in requests:
            check_request(request, self.epochs, repr(self))
        # New runs draw their seeds in request order, all at once (as `evaluate_many` did).
        fresh = [i for i, r in enumerate(requests) if r.run is None]
        drawn = rng.integers(0, 2**31 - 1, size=len(fresh)).tolist()
        seeds = [r.run for r in requests]
        for i, seed in zip(fresh, drawn, strict=True):
            seeds[i] = int(seed)
        out: list[Evaluation | None] = [None] * len(requests)
        # One compiled batch per distinct epoch count; each batch's pairs finish together.
        for epoch in sorted({r.epoch for r in requests}):
            which = [i for i, r in enumerate(requests) if r.epoch == epoch]
            raws = np.array([requests[i].raw for i in which], dtype=np.int64)
            result = train_cells(
                self.config,
                self.space.cells(raws),
                np.array([seeds[i] for i in which]),
                self.data,
                space=self.space,
                stop_epoch=epoch,
            )
            valid = result.metrics["valid_acc"][:, -1].astype(np.float64).tolist()
            test = result.metrics["test_acc"][:, -1].astype(np.float64).tolist()
            for k, i in enumerate(which):
                share = (epoch - requests[i].start_epoch) / epoch
                seconds = float(result.seconds) * share
                out[i] = Evaluation(valid[k], test[k], seconds, epoch, seeds[i])
        return out  # type: ignore[return-value]

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        return self._mean_test[np.asarray(raws, dtype=np.int64)]


@dataclass(frozen=True)
class BackendEntry:
    """One registered backend: how to build it and what a comparison needs to know about it.

    factory: "module:attribute" of its class, imported only when one is built.
    summary: what answers a query, in a few words (help texts, reports).
    compare_args: constructor keyword -> the comparison option that `compare` passes to it:
        "table" (the opened Table), "preset" or "dataset" (the trainer's, for live runs),
        "model" (a saved surrogate's directory).
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
        """The comparison options it reads besides the table (shown in commands, reports)."""
        return [option for option in self.compare_args.values() if option != "table"]


# name -> backend. Adding a backend is one module with a class following `Benchmark` and one
# entry here: `make_benchmark`, the CLI's --backend choices, `compare` and its report all
# read this registry; the runner and the strategies talk to the protocol only.
BACKENDS: dict[str, BackendEntry] = {
    "tabular": BackendEntry(
        factory="nasbench_lite.backends.base:TabularBenchmark",
        summary="table lookups, one training seed drawn per query",
    ),
    "live": BackendEntry(
        factory="nasbench_lite.backends.base:LiveBenchmark",
        summary="real training of the asked cells",
        compare_args={"reference": "table", "config": "preset", "data": "dataset"},
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
