"""The tabular backend: answers from a table, one training seed drawn per query (NB-101)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasbench_lite.backends.base import (
    BenchmarkContext,
    Coverage,
    Evaluation,
    Request,
    check_request,
)
from nasbench_lite.errors import InputError
from nasbench_lite.spaces.subspace import SubSpace
from nasbench_lite.table.schema import SCALES_WITH_EPOCHS


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
        from nasbench_lite.table.reader import as_table

        table = as_table(table)
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
        # Every metric of the table's schema, per row: per seed at the final epoch for those
        # with seeds, the one value of a per-class metric. Read for each evaluation's record.
        self._axes = dict(table.metric_axes)
        self._final_metrics = {
            m: (table.metric(m)[..., -1] if "epochs" in axes else table.metric(m)).tolist()
            for m, axes in self._axes.items()
        }
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
        row = self._rows[raw]
        metrics = {
            m: values[row][seed] if "seeds" in self._axes[m] else values[row]
            for m, values in self._final_metrics.items()
        }
        return Evaluation(
            valid[seed], self._test[raw][seed], self._cost[raw][seed], self.epochs, seed, metrics
        )

    def evaluate_many(self, raws: Sequence[int], rng: np.random.Generator) -> list[Evaluation]:
        # Same draws as calling `evaluate` for each cell in turn.
        return [self.evaluate(raw, rng) for raw in raws]

    def evaluate_requests(
        self, requests: Sequence[Request], rng: np.random.Generator
    ) -> list[Evaluation]:
        if not self._curves:
            for m, axes in self._axes.items():
                if "epochs" in axes:
                    self._curves[m] = self.table.metric(m).tolist()
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
            metrics = self._metrics_at(row, seed, epoch)
            out.append(
                Evaluation(
                    metrics["valid_acc"],
                    metrics["test_acc"],
                    self._cost[raw][seed] * share,
                    epoch,
                    seed,
                    metrics,
                )
            )
        return out

    def _metrics_at(self, row: int, seed: int, epoch: int) -> dict[str, float]:
        """Every metric of the table for one run at `epoch`: curves at that epoch, per-pair
        values of the seed (train_seconds up to that epoch), per-class values."""
        out = {}
        for m, axes in self._axes.items():
            if "epochs" in axes:
                out[m] = self._curves[m][row][seed][epoch - 1]
            elif "seeds" in axes:
                value = self._final_metrics[m][row][seed]
                out[m] = value * epoch / self.epochs if m in SCALES_WITH_EPOCHS else value
            else:
                out[m] = self._final_metrics[m][row]
        return out

    def context(self) -> BenchmarkContext:
        attrs = self.table.attrs
        from nasbench_lite.datasets import IDENTITIES

        # What the table recorded, or for an older file its name's registered record; else
        # the name (a plug-in's dataset is never loaded to describe it: every run asks).
        dataset = attrs.get("dataset")
        if attrs.get("dataset_identity") is not None or dataset in IDENTITIES:
            dataset = self.table.dataset_identity
        return BenchmarkContext(
            max_epochs=self.epochs,
            train_config=attrs.get("config"),
            dataset=dataset,
            table=self.table.source,
            metrics=tuple(self._axes),
            proxies=self._proxies(),
        )

    def _proxies(self):
        """The table's `ProxyLookup` (None: no proxies), built on first use."""
        if not hasattr(self, "_proxy_lookup"):
            from nasbench_lite.backends.proxy_lookup import ProxyLookup

            self._proxy_lookup = ProxyLookup.from_table(self.table)
        return self._proxy_lookup

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        return self._mean_test[np.asarray(raws, dtype=np.int64)]
