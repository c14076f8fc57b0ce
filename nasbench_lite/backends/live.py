"""The live backend: real training of the asked cells with the table's (or a given) recipe."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasbench_lite.backends.base import BenchmarkContext, Evaluation, Request, check_request
from nasbench_lite.errors import InputError
from nasbench_lite.train.config import CURVES


class LiveBenchmark:
    """Answers by training: the cells asked together are trained together in one compiled
    batch (`train_cells`) and all finish when the batch does, after its measured seconds
    (compilation excluded, as in a table's train_seconds).

    At fewer epochs (`evaluate_requests`) it trains the first e epochs of the E-epoch
    schedule. A run is its training seed; continuing it from epoch e1 to e2 retrains the same
    seed to e2 (the same computation, so the same result as resuming from a checkpoint) and
    charges only the (e2 - e1) / e2 share of the measured time: the cost of a resumed run.

    Without a reference table there is no noise-free mean: `mean_test_acc` is NaN, regret is
    NaN, and the runner reports the incumbent's own measured test accuracy instead. With a
    partial one, an incumbent whose class it lacks is scored by that measured accuracy too
    (its regret carries one run's noise; `compare` says so in its report).
    """

    def __init__(
        self,
        config: Any = "tiny",
        data: Any = "mnist1d",
        *,
        reference: Any = None,
        space: Any = "nb201",
        data_dir: str | os.PathLike | None = None,
    ) -> None:
        """config: a TrainConfig or preset name; data: a Dataset or dataset name; reference:
        an optional Table (or path) trained on the same dataset, for means and regret;
        space: a space object or name; data_dir: the directory holding the dataset's files,
        when `data` names a dataset read from files (cifar10, mnist, fashion_mnist).

        A named dataset is rebuilt from the reference table's dataset identity when there is
        one (and checked against it), else from the registered one. Raises InputError (one
        line) when data_dir is missing but needed, or given but not needed; MissingExtra
        without the `train` extra (JAX and the datasets).
        """
        from nasbench_lite.extras import require

        require("train", "the live backend")
        from nasbench_lite.spaces import get_space
        from nasbench_lite.table.reader import as_table
        from nasbench_lite.train.config import get_preset

        reference = None if reference is None else as_table(reference)
        self.preset = config if isinstance(config, str) else None
        self.config = get_preset(config) if isinstance(config, str) else config
        if not isinstance(data, str) and data_dir is not None:
            raise InputError(
                f"the live backend: data_dir={str(data_dir)!r} names where a dataset's files "
                "are, but a loaded Dataset was given; drop data_dir or pass the dataset's name"
            )
        self.data = self._load(data, reference, data_dir) if isinstance(data, str) else data
        self.space = get_space(space) if isinstance(space, str) else space
        self.epochs = self.config.epochs
        self._mean_test = np.full(self.space.num_cells, np.nan)
        self.best_test_acc = float("nan")
        self.reference_source: str | None = None
        self.reference_note = ""
        if reference is not None:
            self._use_reference(reference)

    @staticmethod
    def _load(name: str, reference: Any, data_dir: str | os.PathLike | None) -> Any:
        from nasbench_lite.datasets import dataset_identity, rebuild_dataset

        if reference is not None and reference.attrs.get("dataset") == name:
            identity = reference.dataset_identity
            needed_by = f"the live backend on table {reference.source}"
        else:
            identity = dataset_identity(name)
            needed_by = "the live backend"
        return rebuild_dataset(identity, data_dir, needed_by)

    def __repr__(self) -> str:
        recipe = f"preset {self.preset!r}" if self.preset else "a custom TrainConfig"
        reference = "with" if np.isfinite(self.best_test_acc) else "without"
        return (
            f"LiveBenchmark({self.space.name}/{self.data.name}, {recipe}, "
            f"{self.config.epochs} epochs, {reference} a reference table{self.reference_note})"
        )

    def _use_reference(self, reference: Any) -> None:
        if reference.attrs.get("dataset") != self.data.name:
            raise InputError(
                f"reference table {reference.source} was trained on dataset "
                f"{reference.attrs.get('dataset')!r}, not {self.data.name!r}"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(reference.metric("test_acc")[:, :, -1].astype(np.float64), axis=1)
        mean[~reference.done] = np.nan
        known = reference.raw_to_row >= 0
        self._mean_test[known] = mean[reference.raw_to_row[known]]
        self.best_test_acc = float(np.nanmax(mean))
        self.reference_source = reference.source
        # Regret is the reference's (its seed means): of another recipe, say whose.
        theirs = reference.attrs.get("config") or {}
        if {k: theirs.get(k) for k in self.config.to_dict()} != self.config.to_dict():
            preset = reference.attrs.get("preset")
            self.reference_note = (
                f" of another recipe, preset {preset!r} of {theirs.get('epochs')} epochs: "
                "regret by its means"
            )

    def evaluate(self, raw: int, rng: np.random.Generator) -> Evaluation:
        return self.evaluate_many([raw], rng)[0]

    def evaluate_many(self, raws: Sequence[int], rng: np.random.Generator) -> list[Evaluation]:
        return self.evaluate_requests([Request(int(r), self.epochs) for r in raws], rng)

    def evaluate_requests(
        self, requests: Sequence[Request], rng: np.random.Generator
    ) -> list[Evaluation]:
        from nasbench_lite.train.trainer import train_cells

        for request in requests:
            check_request(request, self.epochs, repr(self))
        # New runs draw their seeds in request order, all at once (as `evaluate_many` did).
        fresh = [i for i, r in enumerate(requests) if r.run is None]
        drawn = rng.integers(0, 2**31 - 1, size=len(fresh)).tolist()
        seeds = [r.run for r in requests]
        for i, seed in zip(fresh, drawn, strict=True):
            seeds[i] = int(seed)
        out: list[Evaluation | None] = [None] * len(requests)
        # One compiled batch per distinct epoch count; each batch's pairs finish together.
        for epoch in sorted({r.epoch for r in requests}):
            which = [i for i, r in enumerate(requests) if r.epoch == epoch]
            raws = np.array([requests[i].raw for i in which], dtype=np.int64)
            result = train_cells(
                self.config,
                self.space.cells(raws),
                np.array([seeds[i] for i in which]),
                self.data,
                space=self.space,
                stop_epoch=epoch,
            )
            finals = {m: v[:, -1].astype(np.float64).tolist() for m, v in result.metrics.items()}
            for k, i in enumerate(which):
                share = (epoch - requests[i].start_epoch) / epoch
                seconds = float(result.seconds) * share
                metrics = {m: v[k] for m, v in finals.items()}
                metrics.update(
                    train_seconds=float(result.train_seconds[k]),
                    params=int(result.params[k]),
                    flops=int(result.flops[k]),
                )
                valid, test = metrics["valid_acc"], metrics["test_acc"]
                out[i] = Evaluation(valid, test, seconds, epoch, seeds[i], metrics)
        return out  # type: ignore[return-value]

    def context(self) -> BenchmarkContext:
        return BenchmarkContext(
            max_epochs=self.epochs,
            train_config=self.config,
            dataset=self.data,
            table=self.reference_source,
            metrics=(*CURVES, "train_seconds", "params", "flops"),
        )

    def mean_test_acc(self, raws: np.ndarray) -> np.ndarray:
        return self._mean_test[np.asarray(raws, dtype=np.int64)]
