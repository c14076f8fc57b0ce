"""One cell of a table in full, and a simulated training run for a search loop of one's own.

`cell_details` gathers what NAS-Bench-201's `get_more_info` and `get_cost_info` give (Dong &
Yang, ICLR 2020): every seed's metrics at an epoch, their mean and spread, the cell's rank,
its canonical class and the raw cells in it, and its cost. `simulate_train_eval` answers
NB-201's `simulate_train_eval` without its hidden running total: it returns this run's cost
and the caller adds it up. Numpy only; `Table` exposes both as methods.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.errors import InputError


class TrainEval(NamedTuple):
    """One simulated training run: the validation accuracy it reached at the epoch (a
    fraction; NaN if that seed diverged), the seconds it cost, and the seed position that
    answered."""

    valid_acc: float
    cost_seconds: float
    seed: int


def cell_details(table: Any, cell: Any, epoch: int | None = None, rank_by: str = "test_acc"):
    """Everything the table knows about one cell (raw index, NB-201 string, op array or
    configuration) at `epoch` (1-based; None: the last), as a dict:

    raw, cell (NB-201 string), row, class_id (the class as trained), members (int list: the
    raw cells the table maps to the same row, ascending), epoch, epochs, seeds (the seed
    values), diverged (bool per seed); per_seed: metric -> list of floats, one per seed, for
    every metric of the table that has seeds (the curves at `epoch`, train_seconds up to
    `epoch`, and any other per-pair metric); mean: metric -> float over the seeds that did
    not diverge (as `Table.query`); std: metric -> sample standard deviation (ddof=1) over
    those seeds, NaN with fewer than two; per_class: every per-class metric (params, flops,
    and any other the table holds); rank: `Table.rank`
    by `rank_by`; cost: params, flops, train_seconds (seed mean, up to `epoch`) and
    train_seconds_total (seed mean, all epochs).
    Raises InputError for a cell outside the table or not trained yet, or a bad epoch.
    """
    raw = table._to_raw(cell)
    mean = table.query(raw, epoch=epoch)  # checks the cell, its row and the epoch
    row = mean["row"]
    e = table._epoch_index(epoch)
    scale = (e + 1) / table.num_epochs
    # Every metric that differs from seed to seed (curves at `epoch`, per-pair values such as
    # train_seconds up to `epoch`), as the table's schema lists them.
    seeds = range(table.num_seeds)
    per_seed = {
        m: np.array([table.values(m, [raw], epoch, s)[0] for s in seeds], dtype=np.float64)
        for m, axes in table.metric_axes.items()
        if "seeds" in axes
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fewer than two finite seeds
        std = {m: float(np.nanstd(v, ddof=1)) for m, v in per_seed.items()}
    return {
        "raw": raw,
        "cell": table.space.format(raw),
        "row": row,
        "class_id": int(table.arrays["cells/row_class"][row]),
        "members": np.flatnonzero(table.raw_to_row == row).tolist(),
        "epoch": e + 1,
        "epochs": table.num_epochs,
        "seeds": table.seeds.tolist(),
        "diverged": table.diverged[row].tolist(),
        "per_seed": {m: v.tolist() for m, v in per_seed.items()},
        "mean": {m: mean[m] for m in per_seed},
        "per_class": {m: mean[m] for m, axes in table.metric_axes.items() if "seeds" not in axes},
        "std": std,
        "rank": table.rank(raw, rank_by),
        "cost": {
            "params": mean["params"],
            "flops": mean["flops"],
            "train_seconds": mean["train_seconds"],
            "train_seconds_total": mean["train_seconds"] / scale,
        },
    }


def simulate_train_eval(
    table: Any, cell: Any, epoch: int | None, seed: Any, from_epoch: int = 0
) -> TrainEval:
    """Train `cell` to `epoch` (1-based; None: the last) by lookup: one seed's validation
    accuracy at that epoch and the seconds it took.

    seed: a seed position 0..S-1, or a `np.random.Generator` that draws one uniformly (the
        tabular backend's draw: one `random()` call).
    from_epoch: the epoch the cell was already trained to (0: from scratch); a continued
        run costs only the epochs from there on, `train_seconds * (epoch - from_epoch) /
        epochs` of that seed (equal-length epochs).
    Nothing is counted here: the caller adds `cost_seconds` to its own total.
    """
    if isinstance(seed, np.random.Generator):
        seed = int(seed.random() * table.num_seeds)
    raw = table._to_raw(cell)
    row = table._row(raw)
    s, e = table._seed_index(seed), table._epoch_index(epoch)
    if not table.done[row]:
        raise InputError(f"cell {cell!r} (row {row}) is not trained yet in {table.source}")
    if (
        isinstance(from_epoch, bool)
        or not isinstance(from_epoch, (int, np.integer))
        or not 0 <= from_epoch <= e
    ):
        raise InputError(
            f"from_epoch {from_epoch!r} out of range: a run to epoch {e + 1} continues from 0..{e}"
        )
    valid = float(table.metric("valid_acc")[row, s, e])
    seconds = float(table.metric("train_seconds")[row, s])
    return TrainEval(valid, seconds * (e + 1 - from_epoch) / table.num_epochs, s)
