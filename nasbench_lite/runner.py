"""The search runner: a simulated clock, W asynchronous workers on an event queue, a budget.

As in Syne Tune's simulator, each evaluation occupies a worker for its cost in simulated
seconds; results come back in completion order from a heap, the strategy is told them one by
one, and every free worker asks for a new cell. The runner owns the budget; benchmark lookups
and strategies keep no counters. See docs/search.md for the full semantics.
"""

from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.spaces.subspace import SubSpace
from nasbench_lite.strategy import make_strategy

_EVALS = re.compile(r"(\d+)\s*evals?")
# The columns of results.csv, one row per finished evaluation (the public contract; the
# statistics and plots need these).
RESULT_COLUMNS = (
    "strategy",
    "seed",
    "sim_seconds",
    "evals",
    "incumbent_valid",
    "incumbent_test",
    "regret",
)
# Which cell the incumbent is: its raw index on every row (-1 before any), and its cell string
# (NB-201 format) on the rows where it changed and on each run's last row ("" elsewhere).
INCUMBENT_COLUMNS = ("incumbent_raw", "incumbent_cell")


@dataclass(frozen=True)
class Budget:
    """Simulated seconds, a number of evaluations, or both (the run ends at the first)."""

    seconds: float | None = None
    evals: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.evals is None:
            raise InputError("a budget needs seconds or evals (or both)")
        if self.seconds is not None and not (0 < self.seconds < math.inf):
            raise InputError(f"budget seconds must be finite and > 0, got {self.seconds!r}")
        if self.evals is not None and (
            isinstance(self.evals, bool) or not isinstance(self.evals, int) or self.evals < 1
        ):
            raise InputError(f"budget evals must be an int >= 1, got {self.evals!r}")

    @classmethod
    def parse(cls, text: str | float | Budget) -> Budget:
        """Text to budget: '3000' (or 3000, '3000s', '1.5e3') is 3000 simulated seconds,
        '100evals' (or '100 evals') is 100 evaluations; a Budget is returned unchanged."""
        if isinstance(text, Budget):
            return text
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise InputError(f"budget {text!r}: expected seconds (e.g. '3000') or 'Nevals'")
        stripped = str(text).strip().lower()
        try:
            if match := _EVALS.fullmatch(stripped):
                return cls(evals=int(match[1]))
            return cls(seconds=float(stripped.removesuffix("s")))
        except ValueError as err:
            raise InputError(
                f"budget {text!r} is not valid: expected simulated seconds (e.g. '3000') or a "
                f"number of evaluations (e.g. '100evals'), both positive ({err})"
            ) from None

    def __str__(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}")
        if self.evals is not None:
            parts.append(f"{self.evals}evals")
        return " and ".join(parts)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One run, one row per evaluation that finished within the budget, in completion order.

    Arrays are (n,): sim_seconds float64 (simulated time the result came back), evals int64
    (1..n), raw int64 (cell evaluated), valid_acc / test_acc float64 (what that training run
    measured; only valid_acc reached the strategy), incumbent int64 (cell with the best
    valid_acc so far, -1 before any finite one), incumbent_cell object (the space's string of
    the incumbent where it changed and on the last row, "" elsewhere), incumbent_valid
    float64, incumbent_test float64 (the benchmark's noise-free mean test accuracy of the
    incumbent; the incumbent's own measured test_acc where the benchmark has no mean), regret
    float64 (best_test_acc - incumbent_test), overhead_seconds float64 (measured wall time of
    the strategy's own init/ask/tell calls so far; charged to sim_seconds only if
    `charge_overhead`).
    """

    strategy: str
    seed: int
    workers: int
    budget: Budget
    charge_overhead: bool
    sim_seconds: np.ndarray
    evals: np.ndarray
    raw: np.ndarray
    valid_acc: np.ndarray
    test_acc: np.ndarray
    incumbent: np.ndarray
    incumbent_cell: np.ndarray
    incumbent_valid: np.ndarray
    incumbent_test: np.ndarray
    regret: np.ndarray
    overhead_seconds: np.ndarray
    best_test_acc: float
    end_seconds: float  # the seconds budget if it ran out, else the time of the last result
    strategy_done: bool  # the strategy stopped asking before the budget was spent

    def __len__(self) -> int:
        return len(self.evals)

    def to_frame(self, strategy_name: str, seed: int):
        """pandas DataFrame, one row per evaluation: RESULT_COLUMNS (strategy, seed,
        sim_seconds, evals, incumbent_valid, incumbent_test, regret), then INCUMBENT_COLUMNS
        (incumbent_raw, incumbent_cell)."""
        import pandas as pd

        n = len(self)
        return pd.DataFrame(
            {
                "strategy": [strategy_name] * n,
                "seed": np.full(n, seed, dtype=np.int64),
                "sim_seconds": self.sim_seconds,
                "evals": self.evals,
                "incumbent_valid": self.incumbent_valid,
                "incumbent_test": self.incumbent_test,
                "regret": self.regret,
                "incumbent_raw": self.incumbent,
                "incumbent_cell": self.incumbent_cell,
            },
            columns=[*RESULT_COLUMNS, *INCUMBENT_COLUMNS],
        )


def run_search(
    strategy: Any,
    benchmark: Any,
    budget: str | float | Budget,
    seed: int,
    workers: int = 1,
    *,
    params: dict[str, Any] | None = None,
    charge_overhead: bool = False,
) -> Trajectory:
    """Run `strategy` (registered name, class, or instance) against `benchmark` until `budget`.

    A name or class is built for `benchmark.space` (for a partial table: the view restricted
    to the cells it answers); an instance must have been built for that space.

    seed: non-negative int; SeedSequence(seed) is split into the strategy's generator and the
    benchmark's (training-noise) generator. workers: concurrent evaluations. params: strategy
    constructor parameters. charge_overhead: advance the simulated clock by the measured
    ask/tell time (then trajectories are no longer bit-for-bit reproducible).
    """
    budget = Budget.parse(budget)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError(f"workers must be an int >= 1, got {workers!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative int, got {seed!r}")
    # The strategy searches the benchmark's space: for a partial table, the restricted view
    # of the cells the table answers. An instance built for another space would propose
    # cells the benchmark cannot answer.
    search = make_strategy(strategy, benchmark.space, **(params or {}))
    own_space = getattr(search, "space", benchmark.space)
    if isinstance(benchmark.space, SubSpace) and own_space is not benchmark.space:
        raise InputError(
            f"strategy {search.name!r} was built for {own_space!r}, but the benchmark answers "
            f"only {benchmark.space!r}; pass the strategy's class or registered name so it is "
            f"built for the benchmark's space"
        )
    strategy_seq, benchmark_seq = np.random.SeedSequence(int(seed)).spawn(2)
    srng, brng = np.random.default_rng(strategy_seq), np.random.default_rng(benchmark_seq)
    max_seconds = math.inf if budget.seconds is None else float(budget.seconds)
    max_evals = sys.maxsize if budget.evals is None else budget.evals
    num_cells = benchmark.space.num_cells
    ask, tell, clock = search.ask, search.tell, time.perf_counter
    evaluate, evaluate_many = benchmark.evaluate, benchmark.evaluate_many

    started = clock()
    state = search.init(srng)
    spent = clock() - started  # measured strategy seconds
    now = spent if charge_overhead else 0.0  # simulated clock
    queue: list[tuple[float, int, int, Any]] = []  # (finish, start order, raw, Evaluation)
    num_started = running = 0
    rows: list[tuple[float, int, float, float, float]] = []  # see `_trajectory`
    out_of_time = False

    while True:
        # Every free worker asks; the cells asked at one moment start together (one batch).
        batch = []
        while running + len(batch) < workers and num_started + len(batch) < max_evals:
            started = clock()
            state, raw = ask(state, srng)
            elapsed = clock() - started
            spent += elapsed
            if charge_overhead:
                now += elapsed
            if raw is None:  # nothing to propose until a result comes back
                break
            if not 0 <= raw < num_cells:
                raise InputError(
                    f"strategy {search.name!r} asked for raw cell {raw!r}, not in "
                    f"0..{num_cells - 1}"
                )
            batch.append(raw)
        if batch:
            results = [evaluate(batch[0], brng)] if len(batch) == 1 else evaluate_many(batch, brng)
            for raw, result in zip(batch, results, strict=True):
                cost = result[2]
                if not 0.0 < cost < math.inf:
                    raise InputError(
                        f"benchmark returned cost {cost!r} s for raw cell {raw}; "
                        f"costs must be finite and > 0"
                    )
                heappush(queue, (now + cost, num_started, raw, result))
                num_started += 1
            running += len(batch)
        if not queue:
            break  # the strategy is finished, or every budgeted evaluation is done
        now = max(now, queue[0][0])
        # Tell every result that is back by `now`, earliest first (ties: started first).
        while queue and queue[0][0] <= now:
            if now > max_seconds:
                out_of_time = True
                break
            _, _, raw, result = heappop(queue)
            running -= 1
            started = clock()
            state = tell(state, raw, result[0], result[2])
            elapsed = clock() - started
            spent += elapsed
            rows.append((now, raw, result[0], result[1], spent))
            if charge_overhead:
                now += elapsed
        if out_of_time:
            break

    run = {
        "strategy": search.name,
        "seed": int(seed),
        "workers": int(workers),
        "budget": budget,
        "charge_overhead": charge_overhead,
        "end_seconds": max_seconds if out_of_time else (rows[-1][0] if rows else 0.0),
        "strategy_done": not out_of_time and not queue and num_started < max_evals,
    }
    return _trajectory(rows, benchmark, run)


def _trajectory(rows: list[tuple], benchmark: Any, run: dict[str, Any]) -> Trajectory:
    """rows: (sim_seconds, raw, valid_acc, test_acc, overhead_seconds) per evaluation."""
    columns = np.array(rows, dtype=np.float64).reshape(-1, 5)  # raw < 2**53: exact as float
    times, raw, valid, test, overheads = columns.T
    raw = raw.astype(np.int64)
    n = len(raw)
    # Incumbent: the first evaluation reaching the best valid_acc so far (NaN never counts).
    score = np.where(np.isnan(valid), -np.inf, valid)
    best_before = np.concatenate([[-np.inf], np.maximum.accumulate(score)[:-1]]) if n else score
    improved = score > best_before
    which = np.maximum.accumulate(np.where(improved, np.arange(n), -1)) if n else raw
    known = which >= 0
    incumbent = np.where(known, raw[which], -1)
    incumbent_valid = np.where(known, valid[which], np.nan)
    incumbent_test = np.full(n, np.nan)
    incumbent_test[known] = benchmark.mean_test_acc(incumbent[known])
    # No noise-free mean (e.g. live training without a reference table): report what the
    # incumbent's own training run measured.
    measured = known & np.isnan(incumbent_test)
    incumbent_test[measured] = test[which[measured]]
    best_test_acc = float(benchmark.best_test_acc)
    # The cell string where the incumbent changed and on the last row: a few per run.
    named = known & (np.diff(incumbent, prepend=-1) != 0)
    if n:
        named[-1] = known[-1]
    incumbent_cell = np.full(n, "", dtype=object)
    incumbent_cell[named] = [benchmark.space.format(int(r)) for r in incumbent[named]]
    return Trajectory(
        sim_seconds=times.copy(),
        evals=np.arange(1, n + 1, dtype=np.int64),
        raw=raw,
        valid_acc=valid.copy(),
        test_acc=test.copy(),
        incumbent=incumbent,
        incumbent_cell=incumbent_cell,
        incumbent_valid=incumbent_valid,
        incumbent_test=incumbent_test,
        regret=best_test_acc - incumbent_test,
        overhead_seconds=overheads.copy(),
        best_test_acc=best_test_acc,
        **run,
    )
