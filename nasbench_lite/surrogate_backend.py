"""The surrogate backend: the benchmark protocol answered by a fitted `Surrogate`.

Like the tabular backend, a query is noisy by default: where the tabular backend draws one
of the table's training seeds with the run's generator, this one draws from the model's
N(mean, std) of each accuracy with the run's generator (two normal draws a query; clipped
to [0, 1]). `noise=False` answers the noise-free means. The cost is the model's predicted
`train_seconds`, the same at every query of a cell.

Every class's answer is predicted once when the backend is built (a few thousand rows
through the boosters), so a query is a couple of list lookups, as fast as the table's.

Regret needs the noise-free test accuracy of the incumbent: with a `reference` table (the
one the model was fitted on, or any table of the same space, dataset and config) it is the
table's seed mean, the truth; without one it is the model's own noise-free prediction.
`regret_source` says which, and the report prints it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasbench_lite.backends import Evaluation


class SurrogateBenchmark:
    """Benchmark protocol over a `Surrogate` (or the directory of a saved one)."""

    def __init__(self, model: Any, *, reference: Any = None, noise: bool = True) -> None:
        from nasbench_lite.surrogate import Surrogate

        if isinstance(model, (str, os.PathLike)):
            model = Surrogate.load(model)
        self.model = model
        self.noise = noise
        self.space = model.space
        reps = np.asarray(self.space.representatives)
        self._class = np.asarray(self.space.canonical_ids).tolist()
        predicted = {m: model.predict(reps, metric=m) for m in ("valid_acc", "test_acc")}
        seconds, _ = model.predict(reps, metric="train_seconds")
        self._valid_mean, self._valid_std = (a.tolist() for a in predicted["valid_acc"])
        self._test_mean, self._test_std = (a.tolist() for a in predicted["test_acc"])
        self._cost = seconds.tolist()
        mean_test = predicted["test_acc"][0][np.asarray(self.space.canonical_ids)]
        self.regret_source = "the surrogate's noise-free test accuracy"
        if reference is not None:
            mean_test = self._reference_means(reference)
        self._mean_test = mean_test
        self._mean_test.flags.writeable = False
        self.best_test_acc = float(np.nanmax(mean_test))

    def _reference_means(self, reference: Any) -> np.ndarray:
        import warnings

        if isinstance(reference, (str, os.PathLike)):
            from nasbench_lite.table import Table

            reference = Table.open(reference)
        self.model.check_table(reference)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a row whose seeds all diverged
            mean = np.nanmean(reference.metric("test_acc")[:, :, -1].astype(np.float64), axis=1)
        mean[~reference.done] = np.nan
        rows = reference.raw_to_row
        self.regret_source = f"the seed-mean test accuracy of {reference.source}"
        return np.where(rows >= 0, mean[rows], np.nan)

    def __repr__(self) -> str:
        return f"SurrogateBenchmark({self.model!r}, noise={self.noise})"

    def evaluate(self, raw: int, rng: np.random.Generator) -> Evaluation:
        c = self._class[raw]
        valid, test = self._valid_mean[c], self._test_mean[c]
        if self.noise:
            z = rng.standard_normal(2)
            valid = min(1.0, max(0.0, valid + self._valid_std[c] * float(z[0])))
            test = min(1.0, max(0.0, test + self._test_std[c] * float(z[1])))
        return Evaluation(valid, test, self._cost[c])

    def evaluate_many(self, raws: Sequence[int], rng: np.random.Generator) -> list[Evaluation]:
        return [self.evaluate(raw, rng) for raw in raws]

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        return self._mean_test[np.asarray(raws, dtype=np.int64)]
