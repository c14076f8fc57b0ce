"""The search-strategy protocol (ask/tell over small immutable state) and its registry.

A strategy follows the init/ask/tell shape of evosax and of syne-tune's schedulers: the object
holds static structure only (the space, its parameters); everything that changes during a
search lives in a small immutable state record that each call takes and returns. A strategy
sees the validation accuracy and the cost (seconds) of the cells it proposed, nothing else: no
test accuracy, no clue which backend answered.

Strategies are found through the entry-point group ``nasbench_lite.strategies``; ours are
registered in pyproject.toml exactly like a researcher's own package would register theirs.
A name "family:argument" (e.g. "optuna:TPESampler") names a strategy built from an argument:
the entry-point group ``nasbench_lite.strategy_families`` maps the family to a function of
the argument that returns the strategy class.
"""

from __future__ import annotations

import math
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
    busy for search_seconds plus the evaluation's cost.
    """

    raw: int
    epochs: int | None = None
    resume: bool = False
    search_seconds: float = 0.0


class Strategy(Protocol):
    """What the runner calls. `raw` is a raw cell index of the space (a Python int).

    ``ask`` returns a raw cell, or an `Ask` for a fidelity (epochs, continuation); ``tell``
    is given back exactly what ``ask`` returned. ``ask`` returns ``(state, None)`` when the
    strategy has nothing to propose right now. The runner then leaves that worker idle until
    the next result is told and asks again; if no evaluation is in flight either, the
    strategy is finished and the run ends (random sampling does this after its single draw).
    ``valid_acc`` is a fraction in [0, 1], or NaN when the training diverged (see
    `fitness`); ``cost`` is the evaluation's simulated seconds. Results are told in
    completion order, which with several workers is not the ask order.
    """

    name: ClassVar[str]

    def __init__(self, space: Any, **params: Any) -> None: ...

    def init(self, rng: np.random.Generator) -> Any: ...

    def ask(self, state: Any, rng: np.random.Generator) -> tuple[Any, int | Ask | None]: ...

    def tell(self, state: Any, raw: int | Ask, valid_acc: float, cost: float) -> Any: ...


def fitness(valid_acc: float) -> float:
    """`valid_acc` as a number to maximise: a diverged training (NaN) ranks below every cell."""
    return -math.inf if math.isnan(valid_acc) else valid_acc
