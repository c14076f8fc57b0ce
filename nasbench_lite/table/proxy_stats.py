"""The zero-cost proxies a table holds, and how well each ranks the table's classes (numpy and
scipy; `nasbench-lite proxies` writes them, docs/proxies.md explains them).

A computed proxy is the per-pair metric `proxy_<name>` (rows, seeds); params and flops are the
table's own per-class metrics. Each is scored against the seed-mean final validation accuracy
over the classes that are trained and have their proxies: Spearman's rho and Kendall's tau over
all of them and within the top 10% by accuracy (where the anchors find most proxies fail), and
its seed-to-seed stability (the mean Spearman between its values at two init seeds). A class
whose proxy failed at an init seed (NaN or an infinite value: e.g. log 0 on the all-`none`
cell) ranks last, as a search that ranks by the proxy would place it; it is counted, not
dropped.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

PREFIX = "proxy_"
COST = ("params", "flops")
DONE = "proxies/done"
REDO = "proxies/redo"  # rows a `proxies --recompute` still has to do (while it is unfinished)
TOP = 0.10
# Abdelfattah et al.'s vote: the rank-sum of these three.
VOTE = ("synflow", "jacov", "snip")


def proxy_metrics(table: Any) -> dict[str, str]:
    """Proxy name -> table metric, for the proxies `table` holds ({} when it holds none):
    every `proxy_<name>` metric, then params and flops."""
    found = {m[len(PREFIX) :]: m for m in table.metrics if m.startswith(PREFIX)}
    if found:
        found.update({name: name for name in COST if name in table.metrics})
    return found


def current_rows(table: Any) -> np.ndarray:
    """bool (rows,): the rows whose proxies are all computed and current: done, and not
    awaiting an unfinished `proxies --recompute` (their values would mix two versions)."""
    done = np.asarray(table.arrays.get(DONE, np.ones(table.num_rows, bool)), bool)
    return done & ~np.asarray(table.arrays.get(REDO, np.zeros(table.num_rows, bool)), bool)


def redo_note(table: Any) -> str:
    """A sentence on an unfinished `proxies --recompute` ("" when there is none)."""
    waiting = int(np.asarray(table.arrays.get(REDO, [])).sum())
    if not waiting:
        return ""
    names = ", ".join((table.attrs.get("proxies") or {}).get("redo") or ["proxies"])
    return (f"{names} of {waiting:,} classes await an unfinished `nasbench-lite proxies "
            f"--recompute`: those classes read as not computed until it is resumed")  # fmt: skip


def proxy_scores(table: Any) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(rows, {proxy: (rows, seeds) values}, seed-mean final valid acc (rows,)) over the rows
    that are trained, have their proxies and a finite accuracy; a cost proxy repeats its value
    per seed."""
    metrics = proxy_metrics(table)
    done = np.asarray(table.done, bool) & current_rows(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        valid = np.nanmean(table.metric("valid_acc")[:, :, -1], axis=1)
    rows = np.flatnonzero(done & np.isfinite(valid))
    values = {}
    for name, metric in metrics.items():
        array = np.asarray(table.metric(metric)[rows], np.float64)
        values[name] = array if array.ndim == 2 else np.repeat(array[:, None], table.num_seeds, 1)
    return rows, values, valid[rows]


def vote(values: dict[str, np.ndarray], names=VOTE) -> np.ndarray:
    """The rank-sum of the proxies `names` (seed means; higher is better; a class whose proxy
    failed at a seed, NaN or infinite, ranks last on it), (n,)."""
    from scipy import stats

    means = [np.mean(values[n], axis=1) for n in names]
    return np.sum([stats.rankdata(np.where(np.isfinite(m), m, -np.inf)) for m in means], axis=0)


def _rank_stats(score: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Spearman and Kendall of `score` (-inf: a failed class, ranked last) with `target`."""
    from scipy import stats

    keep = ~np.isnan(score) & np.isfinite(target)
    if keep.sum() < 3 or np.unique(score[keep]).size < 2:
        return float("nan"), float("nan")
    return (float(stats.spearmanr(score[keep], target[keep])[0]),
            float(stats.kendalltau(score[keep], target[keep])[0]))  # fmt: skip


def _seed_stability(values: np.ndarray) -> float:
    from scipy import stats

    rhos = []
    for a, b in itertools.combinations(range(values.shape[1]), 2):
        keep = np.isfinite(values[:, a]) & np.isfinite(values[:, b])
        if keep.sum() >= 3 and np.ptp(values[keep, a]) > 0 and np.ptp(values[keep, b]) > 0:
            rhos.append(stats.spearmanr(values[keep, a], values[keep, b])[0])
    return float(np.mean(rhos)) if rhos else float("nan")


def proxy_statistics(table: Any, top: float = TOP) -> dict[str, dict[str, float]]:
    """Per proxy (and "vote", Abdelfattah's rank-sum of synflow, jacov and snip, when the
    table holds them): spearman and kendall with seed-mean final validation accuracy over the
    used rows; top_spearman and top_kendall within the `top` fraction by accuracy;
    seed_spearman (NaN for the per-class cost proxies); classes (used rows); failed (classes
    whose proxy is NaN or infinite at an init seed: ranked last)."""
    rows, values, valid = proxy_scores(table)
    if not values or len(rows) < 3:
        return {}
    best = valid >= np.quantile(valid, 1 - top)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = {name: np.mean(v, axis=1) for name, v in values.items()}
    failed = {name: int((~np.isfinite(v)).any(axis=1).sum()) for name, v in values.items()}
    if all(n in values for n in VOTE):
        scores["vote"] = vote(values)
        failed["vote"] = 0  # a rank-sum: every class has one
    out = {}
    for name, score in scores.items():
        score = np.where(np.isfinite(score), score, -np.inf)  # a failed class ranks last
        rho, tau = _rank_stats(score, valid)
        top_rho, top_tau = _rank_stats(score[best], valid[best])
        stable = float("nan") if name in (*COST, "vote") else _seed_stability(values[name])
        out[name] = {"spearman": rho, "kendall": tau, "top_spearman": top_rho,
                     "top_kendall": top_tau, "seed_spearman": stable,
                     "classes": len(score), "failed": failed[name]}  # fmt: skip
    return out


def proxy_section(table: Any) -> list[str]:
    """The card's markdown section on the table's proxies ([] when it holds none; its header
    and a note while a `proxies --recompute` leaves no row current)."""
    st, note = proxy_statistics(table), redo_note(table)
    if not st:
        return ["## Zero-cost proxies", "", f"{note[0].upper()}{note[1:]}.", ""] if note else []
    record = table.attrs.get("proxies", {})
    pairs = int(np.asarray(table.arrays.get(DONE, [])).sum()) * table.num_seeds
    cost = record.get("cpu_seconds", float("nan")) / max(pairs, 1)
    lines = [
        "## Zero-cost proxies", "",
        "Each proxy's seed mean (its value per class for params and flops) against the "
        "seed-mean final validation accuracy: Spearman and Kendall over the classes, and "
        f"within the top {TOP:.0%} by accuracy; seed stability is the mean Spearman between "
        "two init seeds' values; `vote` is the rank-sum of synflow, jacov and snip. "
        f"Computing them cost {cost * 1e3:.1f} ms of CPU per (class, seed) pair "
        "(docs/proxies.md)." + (f" **{note[0].upper()}{note[1:]}.**" if note else ""), "",
        "| proxy | Spearman | Kendall | top-10% Spearman | top-10% Kendall | seed stability |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, s in st.items():
        cells = [s["spearman"], s["kendall"], s["top_spearman"], s["top_kendall"],
                 s["seed_spearman"]]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    return [*lines, "", failed_line(st), ""]


def failed_counts(st: dict[str, dict[str, float]]) -> str:
    """ "jacov 1, nwot 28": the classes on which each proxy failed, or "" when none did."""
    return ", ".join(f"{n} {s['failed']:,}" for n, s in st.items() if s.get("failed", 0))


def failed_line(st: dict[str, dict[str, float]]) -> str:
    """A sentence naming the proxies that failed on some classes (ranked last), or saying
    none did."""
    listed = failed_counts(st)
    if not listed:
        return "Every proxy has a finite value for every class at every init seed."
    return (f"Classes where a proxy failed at an init seed (NaN or infinite, e.g. log 0 on a "
            f"cell of `none` edges), ranked last: {listed}.")  # fmt: skip
