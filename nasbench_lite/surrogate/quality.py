"""How good a surrogate is on the classes it never saw, measured against the table's seeds.

`evaluate(model, table)` scores the model's final-epoch predictions on its held-out classes:
R², MAE, Kendall tau, sparse Kendall tau (NAS-Bench-301's: both sides rounded to 0.1
percentage points first), Spearman, Kendall tau within the top 10% of cells by true value,
the coverage of the 68% and 95% intervals by the individual seeds, and the direct test of
NAS-Bench-301's claim that a surrogate can be closer to the seed mean than one seed is.
Each figure is described where it is computed; docs/surrogate.md reports them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.errors import InputError


def ranking(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Agreement of `predicted` with `true` (n,): R², MAE, Kendall tau, sparse Kendall tau
    (values rounded to 0.001, i.e. 0.1 pp), Spearman, and Kendall tau over the top 10% of
    cells by `true`."""
    from scipy.stats import kendalltau, spearmanr

    residual = true - predicted
    top = true >= np.quantile(true, 0.9)
    return {
        "r2": float(1 - np.sum(residual**2) / np.sum((true - true.mean()) ** 2)),
        "mae": float(np.mean(np.abs(residual))),
        "kendall": float(kendalltau(predicted, true).statistic),
        "sparse_kendall": float(kendalltau(np.round(predicted, 3), np.round(true, 3)).statistic),
        "spearman": float(spearmanr(predicted, true).statistic),
        "top10_kendall": float(kendalltau(predicted[top], true[top]).statistic),
    }


def seed_noise(seeds: np.ndarray) -> dict[str, float]:
    """How well ONE seed predicts the seed mean, the reference a surrogate is held to.

    seeds: (n, S) one metric per class and seed, S >= 2. "leave_one_out_mae": the MAE of
    each seed to the mean of the OTHER seeds, averaged over seeds (both sides then miss the
    same kind of reference, unlike a seed against a mean that includes it).
    "ceiling_kendall": Kendall tau of one seed against the other seeds' mean, averaged.
    """
    from scipy.stats import kendalltau

    s = seeds.shape[1]
    if s < 2:
        raise InputError(f"seed noise needs at least 2 seeds per class, got {s}")
    maes, taus = [], []
    for k in range(s):
        others = np.delete(seeds, k, axis=1).mean(axis=1)
        maes.append(np.mean(np.abs(seeds[:, k] - others)))
        taus.append(kendalltau(seeds[:, k], others).statistic)
    return {"leave_one_out_mae": float(np.mean(maes)), "ceiling_kendall": float(np.mean(taus))}


def evaluate(model, table, metric: str = "valid_acc") -> dict[str, Any]:
    """Quality of `model` on its held-out classes of `table` (which must match the model's
    space, dataset and config), final epoch of `metric`. Classes whose seeds are not all
    finite are left out."""
    model.check_table(table)
    space = table.space
    classes = np.asarray(model.meta["held_out_classes"], dtype=np.int64)
    if len(classes) < 3:
        raise InputError(f"the model holds out {len(classes)} classes; need at least 3")
    raws = np.asarray(space.representatives)[classes]
    rows = table.raw_to_row[raws]
    if (rows < 0).any():
        raise InputError(f"{table.source} has no row for some of the model's held-out classes")
    seeds = table.metric(metric)[rows, :, -1].astype(np.float64)
    ok = np.isfinite(seeds).all(axis=1)
    if ok.sum() < 3:  # e.g. a table of the task still being generated
        raise InputError(
            f"{table.source} holds {int(ok.sum())} of the model's {len(classes)} held-out "
            "classes with every seed finite; need at least 3"
        )
    raws, seeds = raws[ok], seeds[ok]
    mean, std = model.predict(raws, metric=metric)
    true = seeds.mean(axis=1)
    z = (seeds - mean[:, None]) / np.maximum(std[:, None], 1e-12)
    # The NB-301 test: the surrogate against the mean of S-1 seeds, like one seed against
    # the mean of the others, averaged over which seed is left out.
    from scipy.stats import kendalltau

    others = [np.delete(seeds, k, axis=1).mean(axis=1) for k in range(seeds.shape[1])]
    surrogate_mae = np.mean([np.mean(np.abs(mean - o)) for o in others])
    # Its ranking against the same leave-one-out means the ceiling ranks (ceiling_kendall:
    # one seed against the others' mean): the comparable pair; `kendall` is against all seeds.
    surrogate_kendall = np.mean([kendalltau(mean, o).statistic for o in others])
    return {
        "metric": metric,
        "classes": int(len(raws)),
        **ranking(mean, true),
        "coverage68": float(np.mean(np.abs(z) <= 1.0)),
        "coverage95": float(np.mean(np.abs(z) <= 1.96)),
        "surrogate_mae_to_other_seeds": float(surrogate_mae),
        "surrogate_kendall_to_other_seeds": float(surrogate_kendall),
        **seed_noise(seeds),
    }
