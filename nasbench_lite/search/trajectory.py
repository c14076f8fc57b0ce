"""A run's trajectory: one row per finished evaluation, and the incumbent rule that reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_lite.search.budget import Budget

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

# Fidelity and the strategy's own compute: the epoch that answered, the epochs trained so far
# (a continuation counts only the epochs it added), the strategy's measured ask/tell seconds
# so far.
EXTRA_COLUMNS = ("epoch", "epochs_trained", "strategy_seconds", "source_seconds")

# The incumbent under mixed fidelities (printed in reports).
INCUMBENT_RULE = (
    "the cell with the best validation accuracy among the evaluations at the highest "
    "fidelity (epochs) with a result so far: the full schedule once any evaluation reached it "
    "(a diverged evaluation counts at no fidelity)"
)


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
    `charge_overhead`), epoch int64 (the epoch that answered; the schedule's length E for a
    full evaluation, 0 where the benchmark does not say), epochs_trained int64 (epochs
    trained by the evaluations told so far, a continuation counting only what it added, and
    by the strategy's own search computation behind them, `Ask.search_epochs`).
    The incumbent follows `INCUMBENT_RULE`: with every evaluation at full fidelity, simply
    the best valid_acc so far.
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
    epoch: np.ndarray
    epochs_trained: np.ndarray
    best_test_acc: float
    end_seconds: float  # the seconds budget if it ran out, else the time of the last result
    strategy_done: bool  # the strategy stopped asking before the budget was spent
    # A transfer strategy's measured wall seconds of work on its source tasks inside init
    # (e.g. Reptile's meta-training): never charged, recorded beside strategy_seconds.
    source_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.evals)

    def to_frame(self, strategy_name: str, seed: int):
        """pandas DataFrame, one row per evaluation: RESULT_COLUMNS (strategy, seed,
        sim_seconds, evals, incumbent_valid, incumbent_test, regret), then INCUMBENT_COLUMNS
        (incumbent_raw, incumbent_cell), then EXTRA_COLUMNS (epoch, epochs_trained,
        strategy_seconds, source_seconds)."""
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
                "epoch": self.epoch,
                "epochs_trained": self.epochs_trained,
                "strategy_seconds": self.overhead_seconds,
                "source_seconds": np.full(n, float(self.source_seconds)),
            },
            columns=[*RESULT_COLUMNS, *INCUMBENT_COLUMNS, *EXTRA_COLUMNS],
        )


def trajectory_from_rows(rows: list[tuple], benchmark: Any, run: dict[str, Any]) -> Trajectory:
    """rows: (sim_seconds, raw, valid_acc, test_acc, overhead_seconds, epoch, epochs trained)
    per evaluation."""
    columns = np.array(rows, dtype=np.float64).reshape(-1, 7)  # raw < 2**53: exact as float
    times, raw, valid, test, overheads, epoch, trained = columns.T
    raw, epoch = raw.astype(np.int64), epoch.astype(np.int64)
    n = len(raw)
    which = incumbent_index(valid, epoch)
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
        epoch=epoch,
        epochs_trained=np.cumsum(trained).astype(np.int64),
        best_test_acc=best_test_acc,
        **run,
    )


def incumbent_index(valid: np.ndarray, epoch: np.ndarray) -> np.ndarray:
    """(n,) int64: the row of the incumbent after each row, -1 before any (`INCUMBENT_RULE`).

    Among the rows at the highest epoch with a finite valid_acc so far, the first to reach
    the best; a NaN (diverged) never counts, at any fidelity. One fidelity throughout:
    simply the best so far.
    """
    n = len(valid)
    score = np.where(np.isnan(valid), -np.inf, valid)
    if n == 0:
        return np.zeros(0, np.int64)
    if (epoch == epoch[0]).all():
        best_before = np.concatenate([[-np.inf], np.maximum.accumulate(score)[:-1]])
        improved = score > best_before
        return np.maximum.accumulate(np.where(improved, np.arange(n), -1))
    which = np.full(n, -1, np.int64)
    level, best, current = -1, -np.inf, -1
    for i in range(n):
        # A higher fidelity, once it has a result: only its evaluations count from then on
        # (a diverged one, NaN, never counts, so it does not unseat the incumbent).
        if score[i] > -np.inf and epoch[i] > level:
            level, best, current = int(epoch[i]), -np.inf, -1
        if epoch[i] == level and score[i] > best:
            best, current = score[i], i
        which[i] = current
    return which
