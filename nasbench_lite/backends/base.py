"""Benchmark backends: one protocol answering "train this cell" by table lookup or real training.

A strategy never sees which backend answers; the runner calls `evaluate_many` and tells the
strategy the evaluation's named metrics, the test ones left out (`search.protocol.Result`).
Lookups are pure: a backend keeps no counters and no random state of its own; the run's
generator is passed in and the runner spends the budget.
NAS-Bench-101 style noise: a tabular query draws one of the table's training seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

import numpy as np

from nasbench_lite.errors import InputError


class Evaluation(NamedTuple):
    """One training run's outcome: accuracies (fractions; NaN if it diverged) at `epoch` and
    the cost in seconds (> 0) of the epochs trained for it.

    epoch: the epoch that answered (1-based; None: the schedule's last, for a backend that
    does not say). run: which training run answered (the table's seed, the live trainer's
    seed, the surrogate's noise draw); a `Request` carrying it continues that same run.
    metrics: every named metric the backend knows of this run at `epoch`, valid_acc and
    test_acc included: for a table, each metric its schema holds (curves at `epoch`, per-pair
    values of the run's seed, per-class values such as params and flops); the runner tells a
    strategy all but the test ones.
    """

    valid_acc: float
    test_acc: float
    cost_seconds: float
    epoch: int | None = None
    run: Any = None
    metrics: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class BenchmarkContext:
    """What a backend tells about itself, for the strategies that need more than answers
    (weight-sharing ones train a supernet at the benchmark's recipe on its data) and for
    reports. Every field may be None where the backend does not know it.

    max_epochs: E, its schedule's length. train_config: the trainer recipe behind its answers
    (a `TrainConfig`, or the config dict stored in its table or surrogate model). dataset: a
    `Dataset`, the `DatasetIdentity` its table recorded, or the dataset name. table: where
    its answers or its regret reference come from (a table file's path, or a description).
    metrics: the names of the metrics its evaluations carry. proxies: a `ProxyLookup` of
    zero-cost proxy scores and their measured cost, the only thing of its table a strategy
    may read before training a cell (None: the backend has none).
    """

    max_epochs: int | None = None
    train_config: Any = None
    dataset: Any = None
    table: str | None = None
    metrics: tuple[str, ...] = ()
    proxies: Any = None

    def for_strategy(self, data_dir: Any = None) -> dict[str, Any]:
        """The constructor arguments a strategy may take from the benchmark; `data_dir` (where
        a named dataset's files are) is passed on as given, unless the dataset is already
        loaded (a live backend's `Dataset`); `proxies`, the proxy lookup, when there is one."""
        loaded = self.dataset is None or hasattr(self.dataset, "x_train")  # None or a Dataset
        given = {
            "max_epochs": self.max_epochs,
            "train_config": self.train_config,
            "dataset": self.dataset,
            "data_dir": None if loaded else data_dir,
        }
        return given if self.proxies is None else {**given, "proxies": self.proxies}


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

    def context(self) -> BenchmarkContext:
        """What the backend says about itself (recipe, dataset, table, metrics)."""
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
