"""The surrogate backend: the benchmark protocol answered by a fitted `Surrogate`.

Like the tabular backend, a query is noisy by default: where the tabular backend draws one
of the table's training seeds with the run's generator, this one draws each accuracy from
N(mean, seed SD) with the run's generator (two normal draws a query; clipped to [0, 1]),
the SD the model's seed-noise prediction (`Surrogate.predict(..., spread="seed")`): one
training seed's scatter about the class mean, as the table's seeds scatter. The model's own
uncertainty (its out-of-fold error, in `predict`'s total std) is a fixed miss per cell, not
noise: drawn again at every query it made repeated queries of one cell
scatter about eight times more than the table's seeds. An accuracy the model does not
predict at an epoch (protocol v2 tests once, at the last) stays NaN. `noise=False` answers
the noise-free means. The cost is the model's predicted
`train_seconds`, the same at every query of a cell (times e / E at epoch e of E).

Every class's answer is predicted once when the backend is built (a few thousand rows
through the boosters), so a query is a couple of list lookups, as fast as the table's.

Regret needs the noise-free test accuracy of the incumbent. It is a table's seed mean, the
truth, for every class a table at hand has trained (the model's noise-free prediction for
the classes a partial one lacks, never one noisy draw), whenever a table is at hand: the
`reference` given (the one the model was fitted on, or any table of the same space, dataset
and config), else the model's own table if it can be found (`fitted_table`: a shipped
model's is its shipped table). Only without either is it the model's own noise-free
prediction, whose best is not the table's (the cpu table's model predicts 96.6% for its
best, where the table's best is 97.0%; before the final-epoch boosters it predicted an
optimistic 98.5%). `regret_source` says which, and the report prints it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasbench_lite.backends.base import BenchmarkContext, Evaluation, Request, check_request
from nasbench_lite.errors import InputError


def _clip(value: float) -> float:
    """An accuracy clipped to [0, 1]; NaN (not predicted at this epoch) stays NaN."""
    return value if value != value else min(1.0, max(0.0, value))


class SurrogateBenchmark:
    """Benchmark protocol over a `Surrogate` (or the directory of a saved one)."""

    def __init__(self, model: Any = None, *, reference: Any = None, noise: bool = True) -> None:
        """model: a `Surrogate` or a saved model's directory (None: the shipped model of
        `reference`'s table, else the default table's, as the command line defaults to);
        reference: a table for regret's truth; noise: draw answers from the predicted
        N(mean, std) (False: the means)."""
        from nasbench_lite.surrogate.model import Surrogate

        if model is None:  # the shipped model of `reference`'s table, else the default one
            from nasbench_lite.table.shipped import default_model_path

            where = getattr(reference, "source", reference)
            model = default_model_path(where if isinstance(where, (str, os.PathLike)) else None)

        if isinstance(model, (str, os.PathLike)):
            model = Surrogate.load(model)
        self.model = model
        self.noise = noise
        self.space = model.space
        reps = np.asarray(self.space.representatives)
        self._class = np.asarray(self.space.canonical_ids).tolist()
        predicted = {m: model.predict(reps, metric=m, spread="seed")
                     for m in ("valid_acc", "test_acc")}  # fmt: skip
        seconds, _ = model.predict(reps, metric="train_seconds")
        self._valid_mean, self._valid_std = (a.tolist() for a in predicted["valid_acc"])
        self._test_mean, self._test_std = (a.tolist() for a in predicted["test_acc"])
        self._cost = seconds.tolist()
        self.epochs = model.epochs
        self._params, self._flops = self._class_costs()
        self._epochs: dict[int, tuple] = {}  # epoch -> predictions (`_at_epoch`)
        mean_test = predicted["test_acc"][0][np.asarray(self.space.canonical_ids)]
        if reference is None:
            reference = fitted_table(model)
        if reference is None:
            source = model.meta.get("table", {}).get("source")
            self.regret_source = (
                f"the surrogate's noise-free test accuracy (the table it was fitted on, "
                f"{source}, is not at hand; pass reference=TABLE for the truth)"
            )
        else:
            truth = self._reference_means(reference)
            missing = np.isnan(truth)
            if missing.any():  # a partial table: the model's noise-free mean for the rest
                count = len(np.unique(np.asarray(self.space.canonical_ids)[missing]))
                self.regret_source += (
                    f" (for the {count:,} classes it has not trained, the surrogate's "
                    "noise-free prediction)"
                )
            mean_test = np.where(missing, mean_test, truth)
        self._mean_test = mean_test
        self._mean_test.flags.writeable = False
        self.best_test_acc = float(np.nanmax(mean_test))

    def _class_costs(self) -> tuple[list[int], list[int]]:
        """Params and FLOPs per class, counted from the space and the model's recorded network
        (they do not depend on training, so they are exact, not predicted)."""
        import json

        from nasbench_lite.surrogate.features import class_costs

        costs = class_costs(self.space, json.dumps(self.model.meta["table"], sort_keys=True))
        return costs[:, 0].tolist(), costs[:, 1].tolist()

    def _metrics(self, c: int, valid: float, test: float, epoch: int) -> dict[str, Any]:
        return {
            "valid_acc": valid,
            "test_acc": test,
            "train_seconds": self._cost[c] * epoch / self.epochs,
            "params": self._params[c],
            "flops": self._flops[c],
        }

    def context(self) -> BenchmarkContext:
        from nasbench_lite.datasets import DatasetIdentity

        table = self.model.meta.get("table", {})
        recorded, dataset = table.get("dataset_identity"), table.get("dataset")
        if recorded:  # with the examples' fingerprint, so that a rebuild is checked
            dataset = DatasetIdentity.from_dict(recorded)
            dataset = dataclasses.replace(dataset, fingerprint=table.get("dataset_fingerprint"))
        return BenchmarkContext(
            max_epochs=self.epochs,
            train_config=table.get("train_config"),
            dataset=dataset,
            table=self.regret_source,
            metrics=("valid_acc", "test_acc", "train_seconds", "params", "flops"),
        )

    def _reference_means(self, reference: Any) -> np.ndarray:
        import warnings

        from nasbench_lite.table.reader import as_table

        reference = as_table(reference)
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
        run = (0.0, 0.0)  # noise-free: the mean curve, a run that can be continued
        if self.noise:
            z = rng.standard_normal(2)
            run = (float(z[0]), float(z[1]))
            valid = _clip(valid + self._valid_std[c] * run[0])
            test = _clip(test + self._test_std[c] * run[1])
        metrics = self._metrics(c, valid, test, self.epochs)
        return Evaluation(valid, test, self._cost[c], self.epochs, run, metrics)

    def evaluate_many(self, raws: Sequence[int], rng: np.random.Generator) -> list[Evaluation]:
        return [self.evaluate(raw, rng) for raw in raws]

    def evaluate_requests(
        self, requests: Sequence[Request], rng: np.random.Generator
    ) -> list[Evaluation]:
        """At epoch e: the model's prediction for that epoch. A run is its pair of standard
        normal draws, so a continued run keeps its offset from the mean curve (in units of the
        spread) at every epoch; a new run draws the pair like `evaluate`."""
        out = []
        for request in requests:
            check_request(request, self.epochs, repr(self))
            raw, epoch, run = request.raw, request.epoch, request.run
            if not 0 <= raw < self.space.num_cells:
                raise InputError(f"raw cell {raw!r} is not in 0..{self.space.num_cells - 1}")
            if run is None:  # a new run: its draws, or the mean curve without noise
                z = rng.standard_normal(2) if self.noise else np.zeros(2)
                run = (float(z[0]), float(z[1]))
            c = self._class[raw]
            valid_mean, valid_std, test_mean, test_std = self._at_epoch(epoch)
            valid, test = valid_mean[c], test_mean[c]
            if self.noise:
                valid = _clip(valid + valid_std[c] * run[0])
                test = _clip(test + test_std[c] * run[1])
            share = (epoch - request.start_epoch) / self.epochs
            metrics = self._metrics(c, valid, test, epoch)
            out.append(Evaluation(valid, test, self._cost[c] * share, epoch, run, metrics))
        return out

    def _at_epoch(self, epoch: int) -> tuple[list, list, list, list]:
        """Per class: valid mean, valid std, test mean, test std at `epoch` (predicted once)."""
        if epoch not in self._epochs:
            reps = np.asarray(self.space.representatives)
            valid = self.model.predict(reps, epoch=epoch, metric="valid_acc", spread="seed")
            test = self.model.predict(reps, epoch=epoch, metric="test_acc", spread="seed")
            self._epochs[epoch] = tuple(a.tolist() for a in (*valid, *test))
        return self._epochs[epoch]

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        return self._mean_test[np.asarray(raws, dtype=np.int64)]


def fitted_table(model: Any) -> Any:
    """The table `model` was fitted on, opened, if it is at hand; else None.

    Looked for at the path the model records (absolute, or relative to the working
    directory), then under that file name in the shipped data folder (where the shipped
    model's table is, wherever the package is installed). A file counts only if it matches
    everything the model records of its table but the path: space, dataset, recipe, seeds,
    epochs, classes trained (so a table still being generated, or another one, does not).
    """
    from pathlib import Path

    from nasbench_lite.surrogate.features import table_identity
    from nasbench_lite.table.reader import Table
    from nasbench_lite.table.shipped import DATA_DIR

    record = model.meta.get("table", {})
    source = record.get("source")
    if not isinstance(source, str) or not source:
        return None
    for path in dict.fromkeys((Path(source), DATA_DIR / Path(source).name)):
        if not path.is_file():
            continue
        try:
            table = Table.open(path)
            found = table_identity(table)
        except (OSError, ValueError, KeyError):
            continue  # unreadable, or not a table of this schema: not the model's
        # A fingerprint recorded since the fit (a `generate` resume adds it) is not another
        # table; two recorded ones must agree.
        if all(found.get(k) == v for k, v in record.items()
               if k != "source" and not (k == "dataset_fingerprint" and v is None)):  # fmt: skip
            return table
    return None
