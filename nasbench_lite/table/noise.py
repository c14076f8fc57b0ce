"""A table's noise floor: how well its training seeds agree, overall and among the best cells.

Every figure is over the used rows (done, with finite seed-mean final valid and test
accuracy), ranked by seed-mean final test accuracy, the ranking regret uses:

* seed-to-seed Kendall tau: for each pair of seed positions, Kendall's tau of one final
  metric (valid_acc or test_acc) between the two seeds, over the classes of a subset (all
  used classes, the top 10%, the top 1%) where both seeds are finite; the mean over pairs.
  Near 0 within a subset: the table cannot rank those classes against each other.
  Selecting the best classes by the mean of the very seeds compared biases this figure
  down: among classes picked for a high sum, one seed's luck is another's shortfall (in
  simulations on the tables' own spreads, by about 0.12-0.22 against a selection by the
  true values; `benchmarks/noise_floor_bias.py`, docs/suite_study.md).
* the same, selected by a third seed: for each seed c and each pair of the other seeds,
  Kendall's tau of the pair over the best classes by seed c's test accuracy alone, whose
  noise is independent of theirs; the mean over (c, pair). Its subset is fuzzier (one seed
  picks it), which biases it up by 0.10-0.14 (same simulations): the two figures bracket
  how well the seeds order the truly best classes. Needs 3 seeds.
* per-seed noise SD: the pooled within-class standard deviation of one seed's final test
  accuracy, sqrt(mean over classes of the ddof-1 variance over seeds), overall and in the
  top 10%.
* resolution: the smallest difference of two classes' S-seed mean test accuracies that is
  significant at the 5% level (two-sided) given the top decile's per-seed noise:
  1.96 * sqrt(2 / S) * SD. Regret differences below it are ties as far as the table can
  tell; reports mark them so.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

SUBSETS = {"all": 1.0, "top 10%": 0.10, "top 1%": 0.01}
Z95 = 1.959963984540054  # two-sided 5% quantile of the normal
# Below this many classes in the top 10%, its Kendall and noise SD rest on too few classes
# (a table of under 200 classes); the lines say so.
FEW = 20


def noise_floor(table: Any) -> dict[str, Any]:
    """The noise floor of `table` (a `Table`), or {} with fewer than 2 seeds or 4 used rows.

    Keys: seeds (S); classes {subset: n}; kendall {metric: {subset: mean tau}} for metric in
    valid_acc, test_acc; noise_sd {"all", "top 10%"} (fractions); resolution (a fraction).
    """
    done = np.flatnonzero(table.done)
    finals = {m: table.metric(m)[done, :, -1].astype(np.float64) for m in ("valid_acc", "test_acc")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows whose seeds all diverged
        mean_test = np.nanmean(finals["test_acc"], axis=1)
        mean_valid = np.nanmean(finals["valid_acc"], axis=1)
    used = np.flatnonzero(np.isfinite(mean_test) & np.isfinite(mean_valid))
    seeds = table.num_seeds
    if seeds < 2 or len(used) < 4:
        return {}
    order = used[np.argsort(-mean_test[used], kind="stable")]
    subsets = {name: order[: max(2, round(share * len(order)))] for name, share in SUBSETS.items()}
    out: dict[str, Any] = {"seeds": seeds, "classes": {k: len(v) for k, v in subsets.items()}}
    out["kendall"] = {
        metric: {name: seed_kendall(values[rows]) for name, rows in subsets.items()}
        for metric, values in finals.items()
    }
    if seeds >= 3:  # like the figure above, the best by test accuracy: here one seed's
        picker = finals["test_acc"][used]
        out["kendall_by_third_seed"] = {
            metric: {name: third_seed_kendall(values[used], share, picker)
                     for name, share in SUBSETS.items() if share < 1}
            for metric, values in finals.items()
        }  # fmt: skip
    out["noise_sd"] = {name: pooled_sd(finals["test_acc"][subsets[name]])
                       for name in ("all", "top 10%")}  # fmt: skip
    out["resolution"] = Z95 * np.sqrt(2 / seeds) * out["noise_sd"]["top 10%"]
    return out


def floor_missing(table: Any, floor: dict[str, Any]) -> str:
    """Why `noise_floor(table)` (`floor`) gave no finite resolution, in words."""
    if table.num_seeds < 2:
        return f"{table.num_seeds} seed: no seed-to-seed spread"
    if not floor:
        return "fewer than 4 classes with a finite mean"
    return "no class in its top 10% has two seeds that did not diverge"


def seed_kendall(final: np.ndarray) -> float:
    """Mean over seed pairs of Kendall's tau of `final` (rows, seeds) between two seeds, each
    over the rows where both are finite (pairs with fewer than 2 such rows are left out)."""
    from scipy import stats

    taus = []
    for a, b in itertools.combinations(range(final.shape[1]), 2):
        both = np.isfinite(final[:, a]) & np.isfinite(final[:, b])
        if both.sum() >= 2:
            tau = stats.kendalltau(final[both, a], final[both, b])[0]
            if np.isfinite(tau):
                taus.append(tau)
    return float(np.mean(taus)) if taus else float("nan")


def third_seed_kendall(final: np.ndarray, share: float, picker: np.ndarray | None = None) -> float:
    """Mean over seeds c and pairs (a, b) of the other seeds of Kendall's tau between a and b
    of `final` (rows, seeds) over the best `share` of the rows by seed c of `picker` (rows,
    seeds; default `final` itself) (at least 2 rows; rows where c's pick, a or b is not
    finite are left out)."""
    from scipy import stats

    picker = final if picker is None else picker
    taus = []
    for c in range(final.shape[1]):
        ranked = np.flatnonzero(np.isfinite(picker[:, c]))
        ranked = ranked[np.argsort(-picker[ranked, c], kind="stable")]
        top = ranked[: max(2, round(share * len(final)))]
        others = [s for s in range(final.shape[1]) if s != c]
        for a, b in itertools.combinations(others, 2):
            both = top[np.isfinite(final[top, a]) & np.isfinite(final[top, b])]
            if len(both) >= 2:
                tau = stats.kendalltau(final[both, a], final[both, b])[0]
                if np.isfinite(tau):
                    taus.append(tau)
    return float(np.mean(taus)) if taus else float("nan")


def pooled_sd(per_seed: np.ndarray) -> float:
    """sqrt(mean over rows of the ddof-1 variance over seeds) of `per_seed` (rows, seeds),
    over the rows with at least two finite seeds."""
    finite = np.isfinite(per_seed).sum(axis=1) >= 2
    if not finite.any():
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        variance = np.nanvar(per_seed[finite], axis=1, ddof=1)
    return float(np.sqrt(np.mean(variance)))


def noise_lines(floor: dict[str, Any]) -> list[str]:
    """The noise floor in a few plain lines (card, `info`); [] when there is none."""
    if not floor:
        return []
    k, n = floor["kendall"], floor["classes"]
    subsets = ", ".join(
        f"{name} ({n[name]:,} classes) {k['valid_acc'][name]:+.2f} / {k['test_acc'][name]:+.2f}"
        for name in SUBSETS
    )
    sd = floor["noise_sd"]
    lines = [f"seed-to-seed Kendall tau, valid / test: {subsets}"]
    if "kendall_by_third_seed" in floor:
        third = floor["kendall_by_third_seed"]
        picked = ", ".join(
            f"{name} {third['valid_acc'][name]:+.2f} / {third['test_acc'][name]:+.2f}"
            for name in third["test_acc"]
        )
        lines.append(
            f"the same, the best classes picked by a third seed: {picked} (picked by the "
            "compared seeds' mean, the figure above is biased down; by one other seed, up)"
        )
    lines += [
        f"per-seed noise SD of test accuracy: {100 * sd['all']:.2f} pp over all classes, "
        f"{100 * sd['top 10%']:.2f} pp in the top 10%",
        f"smallest resolvable difference of {floor['seeds']}-seed means (5%, top 10%): "
        f"{100 * floor['resolution']:.2f} pp; regret differences below it are ties",
    ]
    if n["top 10%"] < FEW:
        lines.append(f"the top 10% holds {n['top 10%']} classes only: its figures above "
                     "(the resolution included) are rough")  # fmt: skip
    return lines


def noise_section(table: Any) -> list[str]:
    """The card's markdown section on the noise floor; [] when there is none."""
    lines = noise_lines(noise_floor(table))
    if not lines:
        return []
    return [
        "## Noise floor", "",
        "How well the training seeds agree, over all classes and among the best (classes "
        "ranked by seed-mean final test accuracy; definitions in "
        "`nasbench_lite/table/noise.py`):", "", *(f"- {line}" for line in lines), "",
    ]  # fmt: skip
