"""Statistics of a table (its summary), defined once for `Table.summary` (`info`) and the card.

Definitions (all over final-epoch values; a "seed mean" averages the seeds that did not
diverge, as `Table.query` does):

* done rows: /status/done; rows not trained yet are left out of every statistic.
* used rows: done rows whose seed-mean valid and test accuracy are both finite (a row whose
  seeds all diverged is done but not used).
* best class: the used row of highest seed-mean test accuracy (the regret reference of the
  tabular benchmark); the ranking orders used rows by it, ties by row.
* seed Spearman: for each pair of seed positions, Spearman's rho of validation accuracy
  across the done rows where neither seed diverged (NaN for fewer than 2 rows); its mean
  is the mean over the pairs with a finite rho.
* valid-test correlations: Spearman, Pearson and Kendall's tau of seed-mean validation and
  test accuracy over the used rows.
* quantiles: of seed-mean accuracy over the used rows (classes), and of test accuracy over
  their raw cells (each class weighted by its number of raw cells).
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

QUANTILES = (0, 5, 25, 50, 75, 95, 100)


def table_statistics(table: Any) -> dict[str, Any]:
    """Statistics of `table`, a `Table` (typed loosely: reader.py imports this module).

    Counts over done rows, always; with at least 2 used rows also the accuracy statistics
    (else `st["used"]` says how many rows there are and the rest is absent).

    Keys: done (int); used (u,) int rows; diverged_pairs, diverged_rows, all_diverged_rows;
    train_seconds_sum, chunk_seconds (wall), chunk_apportioned_seconds (what train_seconds
    shares out: CPU time, or wall time in files without it), chunk_time_is_cpu (bool),
    compile_seconds (float), chunks (int); members (rows,)
    raw cells per row. With 2+ used rows: valid, test (u,) float64 seed means; raw_test
    (r,) over the used rows' raw cells; quantiles and means {name: (7,) / float}; ranking
    (u,) positions into `used`, best first; seed_spearman [(a, b, rows, rho)];
    seed_spearman_mean; valid_test {Spearman, Pearson, Kendall tau}; test_std (u,) (ddof 0)
    and seeds_used (u,) over the seeds that did not diverge.
    """
    done = np.flatnonzero(table.done)
    valid = table.values("valid_acc", table.row_raw[done]).astype(np.float64)
    test = table.values("test_acc", table.row_raw[done]).astype(np.float64)
    ok = np.isfinite(valid) & np.isfinite(test)
    seconds = table.metric("train_seconds")[done].astype(np.float64)
    diverged = table.diverged[done]
    chunk_seconds = table.arrays["chunks/seconds"]
    chunk_cpu = np.asarray(table.arrays.get("chunks/cpu_seconds", []), dtype=np.float64)
    cpu_measured = len(chunk_cpu) == len(chunk_seconds) and np.isfinite(chunk_cpu).all()
    st: dict[str, Any] = {
        "done": len(done), "used": done[ok],
        "diverged_pairs": int(diverged.sum()), "diverged_rows": int(diverged.any(axis=1).sum()),
        "all_diverged_rows": int(diverged.all(axis=1).sum()),
        "train_seconds_sum": float(np.nansum(seconds)),
        "chunk_seconds": float(np.sum(chunk_seconds)),
        # What train_seconds apportions: the batches' CPU time, or wall time in old files.
        "chunk_apportioned_seconds": float(np.sum(chunk_cpu if cpu_measured else chunk_seconds)),
        "chunk_time_is_cpu": bool(cpu_measured),
        "compile_seconds": float(np.sum(table.arrays["chunks/compile_seconds"])),
        "chunks": len(chunk_seconds),
        "members": np.bincount(table.raw_to_row[table.raw_to_row >= 0], minlength=table.num_rows),
    }  # fmt: skip
    if ok.sum() >= 2:
        st.update(_accuracy_statistics(table, done, st["used"], valid[ok], test[ok]))
    return st


def _accuracy_statistics(table: Any, done, used, valid, test) -> dict[str, Any]:
    from scipy import stats

    in_used = np.zeros(table.num_rows, bool)
    in_used[used] = True
    raws = np.flatnonzero((table.raw_to_row >= 0) & in_used[np.maximum(table.raw_to_row, 0)])
    raw_test = table.values("test_acc", raws).astype(np.float64)
    pairs = seed_spearman(table.metric("valid_acc")[done, :, -1])
    rhos = [rho for *_, rho in pairs if np.isfinite(rho)]
    seed_test = table.metric("test_acc")[used, :, -1].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        test_std = np.nanstd(seed_test, axis=1)
    return {
        "valid": valid, "test": test, "raw_test": raw_test,
        "quantiles": {
            "test acc, classes": np.percentile(test, QUANTILES),
            "valid acc, classes": np.percentile(valid, QUANTILES),
            "test acc, raw cells": np.percentile(raw_test, QUANTILES),
        },
        "means": {"test acc, classes": test.mean(), "valid acc, classes": valid.mean(),
                  "test acc, raw cells": raw_test.mean()},
        "ranking": np.argsort(-test, kind="stable"),
        "seed_spearman": pairs,
        "seed_spearman_mean": float(np.mean(rhos)) if rhos else float("nan"),
        "valid_test": {"Spearman": float(stats.spearmanr(valid, test)[0]),
                       "Pearson": float(stats.pearsonr(valid, test)[0]),
                       "Kendall tau": float(stats.kendalltau(valid, test)[0])},
        "test_std": test_std, "seeds_used": np.isfinite(seed_test).sum(axis=1),
    }  # fmt: skip


def seed_spearman(final: np.ndarray) -> list[tuple[int, int, int, float]]:
    """[(a, b, rows, rho)] for every pair of seed positions a < b of `final` (rows, seeds):
    Spearman's rho over the rows where both are finite (NaN for fewer than 2 rows)."""
    from scipy import stats

    final = np.asarray(final, dtype=np.float64)
    pairs = []
    for a, b in itertools.combinations(range(final.shape[1]), 2):
        both = np.isfinite(final[:, a]) & np.isfinite(final[:, b])
        rho = stats.spearmanr(final[both, a], final[both, b])[0] if both.sum() >= 2 else np.nan
        pairs.append((a, b, int(both.sum()), float(rho)))
    return pairs
