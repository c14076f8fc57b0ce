"""The search-strategy protocol (ask/tell over small immutable state) and its registry.

A strategy follows the init/ask/tell shape of evosax and of syne-tune's schedulers: the object
holds static structure only (the space, its parameters); everything that changes during a
search lives in a small immutable state record that each call takes and returns. A strategy
is told a `Result` for each cell it proposed: the evaluation's named metrics (validation
accuracy, cost in seconds, and whatever else the backend knows of the cell, e.g. params,
FLOPs, train seconds, losses), never a test metric, and no clue which backend answered.

Strategies are found through the entry-point group ``nasbench_lite.strategies``; ours are
registered in pyproject.toml exactly like a researcher's own package would register theirs.
A name "family:argument" (e.g. "optuna:TPESampler") names a strategy built from an argument:
the entry-point group ``nasbench_lite.strategy_families`` maps the family to a function of
the argument that returns the strategy class.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, NamedTuple, Protocol

import numpy as np


class Ask(NamedTuple):
    """A fidelity-aware request, returned by `ask` in place of a plain raw cell.

    raw: the raw cell. epochs: train it for the first `epochs` epochs of the benchmark's
    E-epoch schedule (None: all E; one cosine schedule of E epochs, stopped early, not a
    shorter schedule). resume: continue this run's latest finished training of `raw` from
    the epoch it reached, paying only for the epochs added (the same training run, the same
    seed); without an earlier training of `raw` it starts a new one.
    search_seconds: seconds of the strategy's own search computation (e.g. a weight-sharing
    supernet's training) to charge to the clock before this evaluation starts; the worker is
    busy for search_seconds plus the evaluation's cost, and cells asked after it at the same
    moment (other free workers) start after it too: a strategy computes serially.
    search_epochs: training epochs that search computation took (a supernet epoch, one pass
    over the training split, counts one), counted against an epochs budget and in the run's
    trained epochs.
    """

    raw: int
    epochs: int | None = None
    resume: bool = False
    search_seconds: float = 0.0
    search_epochs: int = 0


# Metrics whose name starts so are of the held-out test split: never told to a strategy.
HIDDEN_PREFIX = "test_"


class Result(Mapping):
    """What a strategy is told about one finished evaluation: a read-only mapping of named
    metrics (name -> number), with the two every strategy uses as attributes.

    valid_acc: fraction in [0, 1], or NaN when the training diverged (see `fitness`).
    cost: the evaluation's simulated seconds. epoch: the epoch that answered (1-based).
    The mapping holds these three and every other metric the backend knows of the run
    (for a table: each metric its schema holds, e.g. params, flops, train_seconds, losses,
    later latency or proxy scores), except test metrics, which never reach a strategy.
    """

    __slots__ = ("_metrics",)

    def __init__(self, metrics: Mapping[str, Any]) -> None:
        hidden = [name for name in metrics if name.startswith(HIDDEN_PREFIX)]
        if hidden:
            raise ValueError(f"a Result never holds test metrics, got {hidden}")
        self._metrics = dict(metrics)

    @classmethod
    def of(cls, valid_acc: float, cost: float, epoch: int | None = None, **metrics: Any) -> Result:
        """A Result from values (tests and hand-driven loops)."""
        return cls({**metrics, "valid_acc": valid_acc, "cost": cost, "epoch": epoch})

    def __getitem__(self, name: str) -> Any:
        try:
            return self._metrics[name]
        except KeyError:
            why = "test metrics never reach a strategy" if str(name).startswith(
                HIDDEN_PREFIX) else "no such metric"  # fmt: skip
            raise KeyError(f"{name!r}: {why}; this Result holds {sorted(self._metrics)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def __repr__(self) -> str:
        return f"Result({self._metrics!r})"

    @property
    def valid_acc(self) -> float:
        return self._metrics["valid_acc"]

    @property
    def cost(self) -> float:
        return self._metrics["cost"]

    @property
    def epoch(self) -> int | None:
        return self._metrics.get("epoch")


class Strategy(Protocol):
    """What the runner calls. `raw` is a raw cell index of the space (a Python int).

    ``ask`` returns a raw cell, or an `Ask` for a fidelity (epochs, continuation); ``tell``
    is given back exactly what ``ask`` returned, with the evaluation's `Result`. ``ask``
    returns ``(state, None)`` when the strategy has nothing to propose right now. The runner
    then leaves that worker idle until the next result is told and asks again; if no
    evaluation is in flight either, the strategy is finished and the run ends (random
    sampling does this after its single draw). Results are told in completion order, which
    with several workers is not the ask order.

    A strategy written against the first protocol, ``tell(state, raw, valid_acc, cost)``,
    keeps working: `tell_function` calls it with the Result's valid_acc and cost.
    """

    name: ClassVar[str]

    def __init__(self, space: Any, **params: Any) -> None: ...

    def init(self, rng: np.random.Generator) -> Any: ...

    def ask(self, state: Any, rng: np.random.Generator) -> tuple[Any, int | Ask | None]: ...

    def tell(self, state: Any, raw: int | Ask, result: Result) -> Any: ...


def tell_function(strategy: Any):
    """`strategy.tell` as a function of (state, asked, result: Result).

    A `tell` that requires four arguments after self is of the first protocol,
    ``tell(state, raw, valid_acc, cost)``: it is called with the Result's valid_acc and cost.
    """
    tell = strategy.tell
    try:
        parameters = list(inspect.signature(tell).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable: the current protocol
        return tell
    # Required positional parameters: a current tell may add optional ones (extra=None).
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]  # fmt: skip
    if len(positional) == 4 and not any(p.kind is p.VAR_POSITIONAL for p in parameters):

        def legacy(state: Any, asked: Any, result: Result) -> Any:
            return tell(state, asked, result.valid_acc, result.cost)

        return legacy
    return tell


def fitness(valid_acc: float) -> float:
    """`valid_acc` as a number to maximise: a diverged training (NaN) ranks below every cell."""
    return -math.inf if math.isnan(valid_acc) else valid_acc
