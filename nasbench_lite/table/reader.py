"""The tabular benchmark: an HDF5 table (schema v1) read once into numpy arrays, then pure lookups.

Rows are canonical classes of the space; every raw cell maps to its class's row. Seed means
are precomputed at open, so a lookup is a couple of array indexings. No JAX import here.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.table.schema import SCALES_WITH_EPOCHS, metric_axes
from nasbench_lite.table.storage import (
    check_arrays,
    complete_arrays,
    read_arrays,
    write_arrays,
)
from nasbench_lite.table.summary import QUANTILES, table_statistics
from nasbench_lite.text import plural


class Table:
    """In-memory tabular benchmark; `Table.open(path)` reads a file, `write(path)` saves one.
    `arrays` holds every dataset of the file, read-only, by HDF5 path."""

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        attrs: dict[str, Any],
        source: str = "<in-memory table>",
    ) -> None:
        """`arrays`: the datasets of schema v1 by HDF5 path (docs/table.md), e.g.
        "metrics/test_acc" (rows, seeds, epochs) float32, "cells/row_raw" (rows,); those
        the schema derives or defaults may be left out (`tablefile.complete_arrays`: the
        other /cells datasets, status/done all True, no chunk records). `attrs`: the root
        attributes. Raises ValueError naming `source` unless they form a valid table."""
        arrays = complete_arrays(arrays, attrs["space"])
        check_arrays(arrays, attrs, source)
        self.arrays = {name: _frozen(value, value.dtype) for name, value in arrays.items()}
        self.raw_to_row = _frozen(arrays["cells/raw_to_row"], np.int64)
        self.row_raw = _frozen(arrays["cells/row_raw"], np.int64)
        # Every metric the file holds (the schema's and any other under /metrics/), by name.
        self.metric_axes = metric_axes(self.arrays)
        self.metrics = tuple(self.metric_axes)
        self._arrays = {m: self.arrays[f"metrics/{m}"] for m in self.metrics}
        self.diverged = self.arrays["status/diverged"]
        self.done = self.arrays["status/done"]
        self.attrs = dict(attrs)
        self.source = source
        self.num_rows = len(self.row_raw)
        self.seeds = np.asarray(attrs["seeds"], dtype=np.int64)
        self.num_seeds = len(self.seeds)
        self.num_epochs = int(attrs["epochs"])
        self._space = None
        # Means over the seeds that did not diverge (their metrics are NaN), so lookups index
        # one array. A row whose seeds all diverged keeps NaN. Per-class metrics are as stored.
        self._mean: dict[str, np.ndarray] = {}
        self._final: dict[str, list] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for m, axes in self.metric_axes.items():
                array = self._arrays[m]
                self._mean[m] = np.nanmean(array, axis=1) if "seeds" in axes else array
                self._final[m] = (
                    self._mean[m][:, -1] if "epochs" in axes else self._mean[m]
                ).tolist()
        self._row_list = self.raw_to_row.tolist()
        self._done_list = self.done.tolist()
        self._diverged_list = self.diverged.any(axis=1).tolist()

    def __repr__(self) -> str:
        source = self.source if self.source.startswith("<") else repr(self.source)
        rows = f"{int(self.done.sum()):,} of {plural(self.num_rows, 'row')}"
        where = f"{self.attrs.get('space')}/{self.attrs.get('dataset')}"
        seeds, epochs = plural(self.num_seeds, "seed"), plural(self.num_epochs, "epoch")
        return f"Table({source}, {rows}, {seeds}, {epochs}, {where})"

    @classmethod
    def open(cls, path: str | os.PathLike) -> Table:
        """Read and validate a table file (errors name the file; see `tablefile.read_arrays`)."""
        arrays, attrs = read_arrays(path)
        return cls(arrays, attrs, source=str(path))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every dataset of the file, HDF5 path -> read-only array (schema v1)."""
        return dict(self.arrays)

    def write(self, path: str | os.PathLike) -> None:
        """Write this table atomically to `path` (schema v1)."""
        write_arrays(path, self.arrays, self.attrs)

    @property
    def space(self):
        """The search space named in attrs["space"] (built on first use)."""
        if self._space is None:
            from nasbench_lite.spaces import get_space

            self._space = get_space(self.attrs["space"])
        return self._space

    @property
    def dataset_identity(self):
        """The `DatasetIdentity` of the examples the table was trained on: its
        `dataset_identity` attribute, or, for a file that predates it, the registered one of
        attrs["dataset"] (`nasbench_lite.datasets.table_dataset`). Loads nothing."""
        from nasbench_lite.datasets import table_dataset

        return table_dataset(self.attrs, self.source)

    def metric(self, name: str) -> np.ndarray:
        """Full read-only array of a metric of `metrics` (axes in `metric_axes`): curves (rows,
        seeds, epochs) float32, train_seconds (rows, seeds) float32, params/flops (rows,)."""
        self._check_metric(name)
        return self._arrays[name]

    def lookup(self, raw: int, metric: str = "valid_acc") -> float:
        """Fast path: final-epoch seed mean of `metric` for one raw index (NaN if not done)."""
        if (values := self._final.get(metric)) is None:
            self._check_metric(metric)
        if (
            type(raw) is int
            and 0 <= raw < len(self._row_list)
            and (row := self._row_list[raw]) >= 0
        ):
            return values[row]
        return values[self._row(self._checked_raw(raw))]  # raises, naming what is wrong

    def _checked_raw(self, raw: Any) -> int:
        """`raw` as an int index; InputError for a bool, a float or any other non-integer."""
        if isinstance(raw, bool) or not isinstance(raw, (int, np.integer)):
            raise InputError(f"raw index {raw!r} is not an int (a raw cell is an integer index)")
        return int(raw)

    def values(
        self, name: str, raws, epoch: int | None = None, seed: int | None = None
    ) -> np.ndarray:
        """`name` for every raw index in `raws` (n,): float32/float64 or int64 (n,).

        seed=None: mean over non-diverged seeds; epoch=None: last epoch (1-based otherwise).
        A per-pair time (train_seconds) at epoch e is the measured time scaled by e/epochs
        (equal-length epochs); other per-pair and per-class metrics do not depend on epoch.
        """
        self._check_metric(name)
        rows = self._rows(np.asarray(raws, dtype=np.int64).reshape(-1))
        axes = self.metric_axes[name]
        if "seeds" not in axes:  # one value per class
            return self._arrays[name][rows]
        e = self._epoch_index(epoch)
        s = self._seed_index(seed)
        if "epochs" in axes:
            return self._mean[name][rows, e] if s is None else self._arrays[name][rows, s, e]
        base = self._mean[name][rows] if s is None else self._arrays[name][rows, s]
        return base * ((e + 1) / self.num_epochs) if name in SCALES_WITH_EPOCHS else base

    def query(self, cell, epoch: int | None = None, seed: int | None = None) -> dict[str, Any]:
        """Every metric of the table (`metrics`) for one cell (NB-201 string, raw index or ops
        array), plus "row" and "diverged" (any seed diverged when seed=None). Semantics as in
        `values`."""
        raw = self._to_raw(cell)
        row = self._row(raw)
        if not self._done_list[row]:
            raise InputError(f"cell {cell!r} (row {row}) is not trained yet in {self.source}")
        if epoch is None and seed is None:  # the common case, from precomputed Python floats
            out = {m: self._final[m][row] for m in self.metrics}
            out["row"], out["diverged"] = row, self._diverged_list[row]
            return out
        e, s = self._epoch_index(epoch), self._seed_index(seed)
        out: dict[str, Any] = {}
        for m, axes in self.metric_axes.items():
            if "seeds" not in axes:
                out[m] = self._final[m][row]
                continue
            value = self._mean[m][row] if s is None else self._arrays[m][row, s]
            if "epochs" in axes:
                value = value[e]
            elif m in SCALES_WITH_EPOCHS:
                value = value * (e + 1) / self.num_epochs
            out[m] = float(value)
        out["row"] = row
        out["diverged"] = bool(self.diverged[row].any() if s is None else self.diverged[row, s])
        return out

    def to_dataframe(self, per: str = "class"):
        """pandas DataFrame of final seed-mean metrics, one row per class (`per="class"`: the
        representative raw cell) or per raw cell (`per="raw"`), with class_id, raw, arch,
        members (raw cells in the class), done and diverged columns."""
        import pandas as pd

        if per not in ("class", "raw"):
            raise InputError(f"per must be 'class' or 'raw', got {per!r}")
        members = np.bincount(self.raw_to_row[self.raw_to_row >= 0], minlength=self.num_rows)
        if per == "class":
            raws, rows = self.row_raw, np.arange(self.num_rows)
        else:
            raws = np.flatnonzero(self.raw_to_row >= 0)
            rows = self.raw_to_row[raws]
        row_class = self.arrays["cells/row_class"]  # as trained, even if the space changes
        frame = {
            "raw": raws,
            "class_id": np.asarray(row_class, dtype=np.int64)[rows],
            "arch": [self.space.format(int(r)) for r in raws],
            "members": members[rows],
            "done": self.done[rows],
            "diverged": self.diverged[rows].any(axis=1),
        }
        frame.update({m: np.asarray(self._final[m])[rows] for m in self.metrics})
        return pd.DataFrame(frame)

    def summary(self) -> dict[str, Any]:
        """Statistics over done rows (`tablestats` defines each): counts, quantiles of final
        test/valid accuracy, the best class (highest seed-mean test accuracy), and the
        valid-to-test and mean seed-to-seed Spearman (None without a finite one, e.g. with one
        seed)."""
        st = table_statistics(self)
        out: dict[str, Any] = {
            "rows": self.num_rows,
            "done": st["done"],
            "diverged_rows": st["diverged_rows"],
            "diverged_pairs": st["diverged_pairs"],
            "total_compute_seconds": float(self.attrs["total_compute_seconds"]),
        }
        if "valid" not in st:  # fewer than 2 used rows
            return out
        for name, key in (("test_acc", "test acc, classes"), ("valid_acc", "valid acc, classes")):
            out[f"{name}_quantiles"] = dict(zip(QUANTILES, st["quantiles"][key].round(4).tolist()))  # noqa: B905
        best = st["ranking"][0]
        raw = int(self.row_raw[st["used"][best]])
        out["best"] = {
            "raw": raw,
            "arch": self.space.format(raw),
            "valid_acc": float(st["valid"][best]),
            "test_acc": float(st["test"][best]),
        }
        out["valid_test_spearman"] = st["valid_test"]["Spearman"]
        mean = st["seed_spearman_mean"]
        out["seed_spearman"] = mean if np.isfinite(mean) else None
        return out

    def rank(self, cell, metric: str = "test_acc") -> dict[str, Any]:
        """Where `cell`'s class stands among the trained classes by seed-mean final `metric`
        ("test_acc" or "valid_acc", higher is better): rank (1 = best, ties share the best
        rank; None when the cell's value is NaN), classes (trained classes with a finite
        value), percentile (percent of those classes with a lower value) and metric."""
        if metric not in ("test_acc", "valid_acc"):
            raise InputError(f"rank by {metric!r}: choose 'test_acc' or 'valid_acc'")
        row = self._row(self._to_raw(cell))
        final = self._mean[metric][:, -1]
        values = final[self.done & np.isfinite(final)]
        value = final[row]
        out: dict[str, Any] = {"metric": metric, "classes": len(values)}
        if not (self.done[row] and np.isfinite(value)):
            return {**out, "rank": None, "percentile": None}
        out["rank"] = int((values > value).sum()) + 1
        out["percentile"] = float(100 * (values < value).sum() / len(values))
        return out

    def details(self, cell, epoch: int | None = None, rank_by: str = "test_acc") -> dict[str, Any]:
        """Everything about one cell at `epoch`: per-seed metrics with their mean and std, its
        rank, canonical class and the raw cells sharing it, its cost (NB-201's
        `get_more_info` and `get_cost_info`; see `tablecell.cell_details`)."""
        from nasbench_lite.table.cell import cell_details

        return cell_details(self, cell, epoch, rank_by)

    def simulate_train_eval(self, cell, epoch: int | None, seed, from_epoch: int = 0):
        """One seed's run of `cell` to `epoch`: `TrainEval(valid_acc, cost_seconds, seed)`,
        the seed a position or drawn from a Generator; pure, the caller sums the costs
        (NB-201's `simulate_train_eval`; see `tablecell.simulate_train_eval`)."""
        from nasbench_lite.table.cell import simulate_train_eval

        return simulate_train_eval(self, cell, epoch, seed, from_epoch)

    # -- validation helpers -------------------------------------------------------------

    def _check_metric(self, name: str) -> None:
        if name not in self._arrays:
            raise InputError(f"unknown metric {name!r}; metrics: {', '.join(self.metrics)}")

    def _not_in_table(self, raw) -> str:
        return f"raw cell {raw!r} is not in table {self.source} (its class was not trained)"

    def _epoch_index(self, epoch) -> int:
        if epoch is None:
            return self.num_epochs - 1
        return _check_index(epoch, 1, self.num_epochs, "epoch", "epochs") - 1

    def _seed_index(self, seed) -> int | None:
        return (
            None
            if seed is None
            else _check_index(seed, 0, self.num_seeds - 1, "seed", "seed positions")
        )

    def _row(self, raw: int) -> int:
        if not 0 <= raw < len(self._row_list):
            raise InputError(f"raw index {raw} is outside 0..{len(self._row_list) - 1}")
        row = self._row_list[raw]
        if row < 0:
            raise InputError(self._not_in_table(raw))
        return row

    def _rows(self, raws: np.ndarray) -> np.ndarray:
        outside = (raws < 0) | (raws >= len(self.raw_to_row))
        if outside.any():
            raise InputError(
                f"raw index {int(raws[outside][0])} is outside 0..{len(self.raw_to_row) - 1}"
            )
        rows = self.raw_to_row[raws]
        if (rows < 0).any():
            raise InputError(self._not_in_table(int(raws[rows < 0][0])))
        return rows

    def _to_raw(self, cell) -> int:
        if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
            return int(cell)
        if isinstance(cell, str) and cell.strip().isdigit():
            return int(cell)
        return int(self.space.to_raw(cell))


def _check_index(value, low: int, high: int, name: str, plural: str) -> int:
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or not low <= value <= high
    ):
        raise InputError(f"{name} {value!r} out of range: {plural} are {low}..{high}")
    return int(value)


def _frozen(array, dtype) -> np.ndarray:
    """A read-only view as `dtype` (copy-free when `array` has it): lookups stay pure, and the
    caller's array stays writeable."""
    array = np.asarray(array, dtype=dtype).view()
    array.flags.writeable = False
    return array


def as_table(table: Any) -> Table:
    """`table` itself if it is already open (a `Table`, or anything else that is not a path),
    else the table file at that path, opened (errors name the file)."""
    return Table.open(table) if isinstance(table, (str, os.PathLike)) else table
