"""A blackbox objective for hyperparameter tools: configuration in, metrics out.

`objective(source, seed)` wraps a table (or a table file), or any benchmark backend that
answers at epochs (tabular, surrogate, live), as a plain function `f(config, epochs=None) ->
dict`, the shape optuna, SMAC, Syne Tune's blackboxes or a hand-written loop expect. Every
answer is the backend's own: one `evaluate_requests` call with the objective's generator
`np.random.default_rng(seed)`, so noise is drawn exactly as the backend draws it for a search
(a table answers with one of its training seeds, the surrogate with one draw from its
predicted N(mean, std)). The function keeps no counter; the caller adds up `train_seconds`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.errors import InputError, MissingFileError

# The keys every answer starts with; the backend's metrics follow (`Objective`).
KEYS = ("raw", "epoch", "seed")


class Objective:
    """`f(config, epochs=None) -> dict`: one noisy training run of a cell, by the backend
    (`objective` lists the sources).

    config: a configuration (mapping edge name -> op name, e.g. a ConfigSpace Configuration
        or an optuna trial's params), an NB-201 string or a raw index.
    epochs: the epoch to read (1-based; None: the last), as a multi-fidelity tool asks.
    Returns a dict: raw, epoch, seed (the run that answered: the table's seed position, the
    live trainer's seed, the surrogate's pair of normal draws, or None without noise), then
    every metric the backend knows of that run at that epoch (`Evaluation.metrics`): on a
    table each metric its schema holds (the curves, train_seconds up to that epoch, params,
    flops and any other); on the surrogate the accuracies, the predicted train_seconds and
    the exact params and flops; live, what the trainer measured. `metrics` lists the names.
    """

    def __init__(self, source: Any, seed: Any = None) -> None:
        self.rng = np.random.default_rng(seed)
        from nasbench_lite.table.reader import as_table

        source = _backend(source)
        source = as_table(source)
        if hasattr(source, "raw_to_row") and hasattr(source, "query"):  # a Table
            from nasbench_lite.backends.tabular import TabularBenchmark

            source = TabularBenchmark(source)
        if not (hasattr(source, "evaluate_requests") and hasattr(source, "epochs")):
            raise InputError(
                f"objective needs a Table, a table file, or a benchmark that answers at epochs "
                f"(tabular, surrogate, live), got {type(source).__name__}"
            )
        self.backend = source
        # Configurations name cells of the whole space; a partial table answers part of it.
        self.space = getattr(source.space, "space", source.space)
        context = getattr(source, "context", None)
        self.metrics = context().metrics if callable(context) else ()

    def __repr__(self) -> str:
        return f"Objective({self.backend!r})"

    def __call__(self, config: Any, epochs: int | None = None) -> dict[str, Any]:
        from nasbench_lite.backends.base import Request

        raw = self.space.to_raw(config)
        epoch = self.backend.epochs if epochs is None else _whole(epochs)
        (answer,) = self.backend.evaluate_requests([Request(raw, epoch)], self.rng)
        out: dict[str, Any] = {"raw": raw, "epoch": answer.epoch, "seed": answer.run}
        out.update(answer.metrics)
        out.update(valid_acc=answer.valid_acc, test_acc=answer.test_acc)
        out.setdefault("train_seconds", answer.cost_seconds)
        # Plain Python numbers (json.dumps of the answer works, as a logger would need).
        return {k: _plain(v) for k, v in out.items()}


def _whole(epochs: Any) -> Any:
    """A float budget that is a whole number of epochs (SMAC and DEHB pass 3.0) as that int;
    InputError for any other float. Anything else is left for the backend's check."""
    if isinstance(epochs, (float, np.floating)):
        if not float(epochs).is_integer():
            raise InputError(f"epochs {epochs!r}: must be a whole number of epochs")
        return int(epochs)
    return epochs


def objective(source: Any, seed: Any = None) -> Objective:
    """A blackbox `f(config, epochs=None) -> dict` over `source` drawing noise from
    `np.random.default_rng(seed)`; see `Objective` for what it answers on each.

    source: a `Table` or a table file path; a tabular, surrogate or live benchmark; a
    `Surrogate` (its backend, noisy); or a backend's name, built with its defaults as
    `make_benchmark(name)` builds it ("tabular": the shipped table, "surrogate": the shipped
    model).
    """
    return Objective(source, seed)


def _backend(source: Any) -> Any:
    """`source` itself, or the benchmark a backend name or a `Surrogate` stands for."""
    import os
    import sys

    from nasbench_lite.backends.registry import available_backends, make_benchmark

    if isinstance(source, str) and source in available_backends() and not os.path.exists(source):
        return make_benchmark(source)
    if isinstance(source, (str, os.PathLike)) and not os.path.exists(source):
        raise MissingFileError(
            f"objective source {str(source)!r}: neither a table file nor a backend "
            f"({', '.join(available_backends())})"
        )
    # A Surrogate exists only once its module is loaded: no xgboost import for other sources.
    surrogate = sys.modules.get("nasbench_lite.surrogate.model")
    if surrogate is not None and isinstance(source, surrogate.Surrogate):
        return make_benchmark("surrogate", model=source)
    return source


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python int or float it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value
