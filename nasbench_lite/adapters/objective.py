"""A blackbox objective for hyperparameter tools: configuration in, metrics out.

`objective(source, seed)` wraps a table (or a table file, or the tabular backend), the
surrogate backend or any other backend that answers at epochs (e.g. live training) as a
plain function `f(config, epochs=None) -> dict`, the shape optuna,
SMAC, Syne Tune's blackboxes or a hand-written loop expect. Noise is drawn as the backends
draw it, from the objective's own generator `np.random.default_rng(seed)`: a table answers
with one of its training seeds, the surrogate with one draw from its predicted N(mean, std).
The function keeps no counter; the caller adds up `train_seconds`.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError

# The keys of every answer, in order. On the surrogate the losses, params and flops are NaN.
KEYS = ("raw", "epoch", "seed", "valid_acc", "valid_loss", "test_acc", "test_loss",
        "train_seconds", "params", "flops")  # fmt: skip


class Objective:
    """`f(config, epochs=None) -> dict`: one noisy training run of a cell, by lookup.

    config: a configuration (mapping edge name -> op name, e.g. a ConfigSpace Configuration
        or an optuna trial's params), an NB-201 string or a raw index.
    epochs: the epoch to read (1-based; None: the last), as a multi-fidelity tool asks.
    Returns a dict with `KEYS`: raw, epoch, seed (the table's seed position that answered;
    None on the surrogate), valid_acc, valid_loss, test_acc, test_loss (fractions and
    losses of that run at that epoch), train_seconds (its cost: the time to train up to that
    epoch), params and flops.

    On a table every key is measured. On the surrogate backend the accuracies are one draw
    from the model's N(mean, std) at that epoch (the noise-free means if the backend was built
    with noise=False), train_seconds is its predicted mean, and valid_loss, test_loss, params
    and flops are NaN: the surrogate does not model them. On another backend (the live one:
    a new training run of the first `epochs` epochs of its schedule) the answer is its
    `Evaluation`: accuracies and cost; seed is the backend's run id, losses, params and flops
    NaN.
    """

    def __init__(self, source: Any, seed: Any = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.table = self.model = self.backend = None
        if isinstance(source, (str, os.PathLike)):
            from nasbench_lite.table.reader import Table

            source = Table.open(source)
        if hasattr(source, "raw_to_row") and hasattr(source, "query"):  # a Table
            self.table = source
        elif hasattr(source, "table") and hasattr(source, "evaluate"):  # TabularBenchmark
            self.table = source.table
        elif hasattr(source, "model") and hasattr(source, "evaluate"):  # SurrogateBenchmark
            self.model, self.noise = source.model, source.noise
        elif hasattr(source, "evaluate_requests") and hasattr(source, "epochs"):  # e.g. live
            self.backend = source
        else:
            raise InputError(
                f"objective needs a Table, a table file, or a benchmark that answers at epochs "
                f"(tabular, surrogate, live), got {type(source).__name__}"
            )
        found = [s for s in (self.table, self.model, self.backend) if s is not None]
        self.space = found[0].space

    def __repr__(self) -> str:
        source = next(s for s in (self.table, self.model, self.backend) if s is not None)
        return f"Objective({source!r})"

    def __call__(self, config: Any, epochs: int | None = None) -> dict[str, Any]:
        raw = self.space.to_raw(config)
        if self.table is not None:
            seed = int(self.rng.random() * self.table.num_seeds)  # the tabular backend's draw
            found = self.table.query(raw, epoch=epochs, seed=seed)
            epoch = self.table.num_epochs if epochs is None else int(epochs)
            return {"raw": raw, "epoch": epoch, "seed": seed,
                    **{key: found[key] for key in KEYS[3:]}}  # fmt: skip
        if self.backend is not None:
            from nasbench_lite.backends.base import Request

            epoch = self.backend.epochs if epochs is None else epochs
            (answer,) = self.backend.evaluate_requests([Request(raw, epoch)], self.rng)
            out: dict[str, Any] = dict.fromkeys(KEYS, math.nan)
            out.update(raw=raw, epoch=answer.epoch, seed=answer.run, valid_acc=answer.valid_acc,
                       test_acc=answer.test_acc, train_seconds=answer.cost_seconds)  # fmt: skip
            return out
        return self._predicted(raw, epochs)

    def _predicted(self, raw: int, epochs: int | None) -> dict[str, Any]:
        out: dict[str, Any] = dict.fromkeys(KEYS, math.nan)
        out.update(raw=raw, epoch=self.model.epochs if epochs is None else int(epochs), seed=None)
        for metric in ("valid_acc", "test_acc"):
            mean, std = self.model.predict([raw], epochs, metric)
            value = float(mean[0])
            if self.noise:
                value = min(
                    1.0, max(0.0, value + float(std[0]) * float(self.rng.standard_normal()))
                )
            out[metric] = value
        out["train_seconds"] = float(self.model.predict([raw], epochs, "train_seconds")[0][0])
        return out


def objective(source: Any, seed: Any = None) -> Objective:
    """A blackbox `f(config, epochs=None) -> dict` over `source` (a `Table`, a table file
    path, a tabular, surrogate or live benchmark) drawing noise from `np.random.default_rng(seed)`;
    see `Objective` for what it answers on each."""
    return Objective(source, seed)
