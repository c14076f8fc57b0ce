"""Syne Tune's transfer schedulers on our tables: the source tasks exported as Syne Tune's
`TransferLearningTaskEvaluations`, and its ZeroShotTransfer and BoundingBox (random search in
the box) built to run with `nasbench_lite.adapters.synetune.simulate` on a target table, so
that they can be compared with our `zero_shot_transfer` and `bounding_box`.

The export is built from `SourceTasks` (validation curves only), never from a table, so no
test metric can reach Syne Tune's schedulers. How theirs and ours differ is in
docs/adapters.md ("Syne Tune's transfer schedulers on our tables"); in short:

- Syne Tune ranks a configuration by its seed-mean validation error at its best epoch (the
  minimum over fidelities); ours by the seed-mean accuracy at the final epoch.
  `last_epoch=True` exports the final epoch only, so that theirs ranks as ours.
- One row per raw cell weights a class by its number of isomorphic cells in Syne Tune's
  average ranks, and its BoundingBox's top configuration is whichever member of the best
  class its sort puts first; ours ranks classes, one representative each. `classes=True`
  exports one row per class (our strategies' candidates).
- Ties: ZeroShotTransfer takes the first row (the export's raw order: the lower raw cell,
  as ours); BoundingBox's top configurations come from numpy's unstable argsort, so on a tie
  of seed means its box may be spanned by another class than ours.
- BoundingBox ranks each task alone: `shared=False` gives each task the cells it knows
  (with the shared rows a task's best class is missed when another task lacks it).
- Syne Tune 0.16's ZeroShotTransfer never calls its own portfolio (`get_config`): its
  `suggest` is its base class's, which samples at random. `transfer_scheduler` gives it the
  `suggest` that walks the portfolio. Once the portfolio is spent it suggests nothing and the
  simulation ends early (the results end before the budget); ours goes on with random search.
- Syne Tune's random search in the box samples raw cells with replacement for the whole run;
  ours takes the box's classes in a random order, each once, then the whole space.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.adapters.synetune import METRIC, _edge_names
from nasbench_lite.checks import check_int
from nasbench_lite.errors import InputError
from nasbench_lite.extras import require

TRANSFER_SCHEDULERS = ("zero_shot", "bounding_box")


def _space(sources: Any, space: Any) -> Any:
    if space is not None:
        return space
    from nasbench_lite.spaces import get_space

    return get_space(sources[0].space)


def config_space(space: Any) -> dict[str, Any]:
    """The configuration space of `to_blackbox` for a table of `space`: one categorical per
    edge, named by the space's edge names, its choices the op names."""
    from syne_tune.config_space import choice

    return {name: choice(list(space.ops)) for name in _edge_names(space)}


def transfer_rows(sources: Any, space: Any = None, classes: bool = False, task: Any = None):
    """The raw cells `to_transfer_evaluations` exports, ascending: those known in every
    source task, or in `task` alone when given (classes=True: one per class, our transfer
    strategies' candidates)."""
    from nasbench_lite.strategies._transfer import candidates

    space = _space(sources, space)
    tasks = sources if task is None else [task]
    known = np.logical_and.reduce([np.asarray(t.known) for t in tasks])
    cells = candidates(space) if classes else np.arange(space.num_cells)
    return cells[known[cells]]


def to_transfer_evaluations(
    sources: Any,
    space: Any = None,
    *,
    classes: bool = False,
    last_epoch: bool = False,
    shared: bool = True,
) -> dict[str, Any]:
    """Syne Tune's offline evaluations of the source tasks: {task name:
    TransferLearningTaskEvaluations}.

    sources: a `SourceTasks` (validation curves only: no test metric can enter the export).
    space: the space of the tables (None: the one the source tasks name).
    Rows: the raw cells known in EVERY source task, in raw order, one row per raw cell (the
    cells of a class share its numbers), the same rows in every task: Syne Tune's
    ZeroShotTransfer assumes every configuration was evaluated on every task. classes=True:
    one row per class instead (our strategies' candidate, `_transfer.candidates`).
    shared=False: each task's rows are the cells IT knows, for BoundingBox, which ranks each
    task alone (with shared rows a task's best class is missed when another task lacks it).
    Hyperparameters: one column per edge, named and valued as `to_blackbox`'s configuration
    space (which is `configuration_space`), so a configuration means the same cell in the
    target's blackbox. Objectives: ["metric_valid_error"] (METRIC: 1 - valid_acc),
    (rows, seeds, epochs, 1) float64, per seed and epoch (NaN: a diverged seed);
    last_epoch=True keeps the final epoch only, (rows, seeds, 1, 1).
    """
    require("synetune", "the Syne Tune transfer adapter")
    from syne_tune.optimizer.schedulers.transfer_learning.transfer_learning_task_evaluation import (  # noqa: E501
        TransferLearningTaskEvaluations,
    )

    if sources is None or len(sources) == 0:
        raise InputError("no source tasks to export")
    space = _space(sources, space)
    configuration, ops, names = config_space(space), np.asarray(space.ops), _edge_names(space)
    out = {}
    for task in sources:
        raws = transfer_rows(sources, space, classes, None if shared else task)
        if not len(raws):
            where = "every source task" if shared else f"source task {task.name}"
            raise InputError(f"no cell is known in {where}: there is nothing to export")
        cells = space.cells(raws)
        hyperparameters = pd.DataFrame({n: ops[cells[:, i]] for i, n in enumerate(names)})
        curves = np.asarray(task.curves, dtype=np.float64)[task.raw_to_row[raws]]
        error = 1.0 - (curves[:, :, -1:] if last_epoch else curves)
        out[task.name] = TransferLearningTaskEvaluations(
            configuration_space=configuration,
            hyperparameters=hyperparameters,
            objectives_names=[METRIC],
            objectives_evaluations=error[..., None],
        )
    return out


def _portfolio_class():
    """Syne Tune's ZeroShotTransfer with a `suggest` that walks its portfolio."""
    from syne_tune.config_space import cast_config_values, postprocess_config
    from syne_tune.optimizer.scheduler import TrialSuggestion
    from syne_tune.optimizer.schedulers.transfer_learning.zero_shot import ZeroShotTransfer

    class PortfolioZeroShotTransfer(ZeroShotTransfer):
        """Syne Tune 0.16's ZeroShotTransfer defines its portfolio in `get_config`, but its
        `suggest` (SingleFidelityScheduler's) asks its default random searcher instead, so
        the portfolio is never used. This `suggest` asks `get_config`: the next cell of the
        greedy portfolio, or None (nothing more to suggest: the tuner stops starting trials)
        once every configuration has been suggested."""

        def suggest(self):
            config = self.get_config()
            if config is None:
                return None
            config = cast_config_values(config, self.config_space)
            return TrialSuggestion.start_suggestion(postprocess_config(config, self.config_space))

    return PortfolioZeroShotTransfer


def transfer_scheduler(name: str, blackbox: Any, transfer: dict[str, Any], seed: int, top: int = 1):
    """Syne Tune's transfer scheduler `name` minimising METRIC on `blackbox`'s configuration
    space (a `to_blackbox` of the target), learning from `transfer`
    (`to_transfer_evaluations`), for `simulate`.

    "zero_shot": ZeroShotTransfer (Wistuba et al. 2015), with the `suggest` that walks its
        greedy portfolio (see `_portfolio_class`); rows kept in the export's raw order
        (sort_transfer_learning_evaluations=False: every task holds the same rows in the same
        order), so equal average ranks go to the lower raw cell, as in ours.
    "bounding_box": BoundingBox (Perrone et al. 2019) over the `top` best configurations of
        each task (num_hyperparameters_per_task), Syne Tune's RandomSearch inside the box
        (seeded with `seed`); what BoundingBox prints is swallowed.
    """
    require("synetune", "the Syne Tune transfer adapter")
    from syne_tune.optimizer.baselines import RandomSearch
    from syne_tune.optimizer.schedulers.transfer_learning.bounding_box import BoundingBox

    check_int("top", top, 1)
    if not transfer:
        raise InputError("no transfer evaluations given (to_transfer_evaluations of the sources)")
    space = blackbox.configuration_space
    if name == "zero_shot":
        if top != 1:
            raise InputError(f"top {top}: only bounding_box reads it; zero_shot ranks every cell")
        # Syne Tune pairs the tasks' rows by position: every task must hold the same cells in
        # the same order (an export with shared=True), or it ranks unrelated cells together.
        frames = [evaluations.hyperparameters for evaluations in transfer.values()]
        if any(not f.reset_index(drop=True).equals(frames[0].reset_index(drop=True))
               for f in frames[1:]):  # fmt: skip
            raise InputError(
                "zero_shot needs every source task to hold the same cells in the same order "
                "(to_transfer_evaluations with shared=True); these differ"
            )
        # Its warning that each configuration must occur in every task: it does, by export.
        quiet = logging.getLogger("syne_tune.optimizer.schedulers.transfer_learning.zero_shot")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            return _portfolio_class()(
                space, METRIC, transfer, do_minimize=True,
                sort_transfer_learning_evaluations=False, random_seed=int(seed),
            )  # fmt: skip
        finally:
            quiet.setLevel(level)
    if name == "bounding_box":

        def scheduler_fun(box: dict, metric: str, do_minimize: bool, random_seed: int):
            return RandomSearch(
                box, metrics=[metric], do_minimize=do_minimize, random_seed=random_seed
            )

        with contextlib.redirect_stdout(io.StringIO()):
            return BoundingBox(
                scheduler_fun, space, METRIC, transfer, do_minimize=True,
                num_hyperparameters_per_task=int(top), random_seed=int(seed),
            )  # fmt: skip
    raise InputError(
        f"unknown Syne Tune transfer scheduler {name!r}; known: {', '.join(TRANSFER_SCHEDULERS)}"
    )


def box_ops(scheduler: Any, space: Any) -> np.ndarray:
    """(edges, ops) bool: the ops a BoundingBox scheduler's restricted space allows per edge
    (comparable with our bounding_box's `allowed_ops`)."""
    box = scheduler.scheduler.config_space
    out = np.zeros((space.num_edges, space.num_ops), dtype=bool)
    for i, edge in enumerate(_edge_names(space)):
        domain = box[edge]
        values = domain.categories if hasattr(domain, "categories") else [domain]
        out[i, [list(space.ops).index(v) for v in values]] = True
    return out


def suggested_cells(scheduler: Any, space: Any, count: int) -> list[int]:
    """The raw cells of the first `count` configurations `scheduler` suggests (fewer when it
    runs out), asked without running them (ZeroShotTransfer's portfolio ignores results)."""
    out = []
    for _ in range(count):
        suggestion = scheduler.suggest()
        if suggestion is None:
            break
        out.append(int(space.config_to_raw({e: suggestion.config[e] for e in _edge_names(space)})))
    return out
