"""The suite card: how the tasks of a suite agree, from their tables (docs/suite_card.md).

Per task: classes done, best and median seed-mean final test accuracy, the best cell and the
noise floor (`table.noise`). Per pair of tasks, over the classes both tables hold (done, with
a finite seed-mean final test accuracy): Spearman and Kendall correlations of seed-mean
final test accuracy over all of them, within the first task's top half (the near/far
targets of docs/suite_study.md are set on it) and within its top 10%, and where each task's
best class ranks on the other (its percentile: 1% is the top), with a bootstrap interval of
the top-half Spearman (how far a partial table's figure could move). The near/far
targets (docs/suite_study.md) are read on the top-half Spearman: near, at least 0.4 and at
least 0.15 below the same-task ceiling; far, at most 0.3 with the first task's best class
outside the other's top 10%. Every task ranks the dead cells last, so the correlation over
all classes stays high for any pair and cannot tell near from far. Last, each task's Pareto
fronts of accuracy against each cost metric and how many front classes two tasks share
(`table.fronts`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

TOP = 0.10
HALF = 0.50
BOOTSTRAP = 1000  # draws of the top-half Spearman's interval


TITLE = "# Suite card"  # the first line of every suite card


def final_means(table: Any) -> dict[int, float]:
    """Class id (row of the space's classes, via raw index) -> seed-mean final test accuracy,
    for every done row with a finite value."""
    space = table.space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows not done, or all diverged
        means = np.nanmean(np.asarray(table.metric("test_acc"))[:, :, -1], axis=1)
    rows = np.flatnonzero(np.asarray(table.done) & np.isfinite(means))
    classes = np.asarray(space.canonical_ids)[table.row_raw[rows]]
    return dict(zip(classes.tolist(), means[rows].tolist(), strict=True))


def top_rows(x: np.ndarray, share: float) -> np.ndarray:
    """Indices of the ``round(share * len(x))`` (at least 2) largest values of ``x``, best
    first; ties keep their order in ``x`` (a stable sort). The one definition of a task's
    top half and top 10% for every figure of the suite card and the suite study."""
    return np.argsort(-np.asarray(x), kind="stable")[: max(2, round(share * len(x)))]


def pair_figures(a: dict[int, float], b: dict[int, float]) -> dict[str, Any]:
    """Agreement of two tasks over their common classes: spearman/kendall over all, within
    a's top half and within a's top 10%, and the percentile on b (among the common classes)
    of a's best class, the one the card names; None while b does not hold it (a partial
    table), never another class in its place."""
    from scipy import stats

    common = np.array(sorted(set(a) & set(b)), dtype=np.int64)
    out: dict[str, Any] = {"classes": len(common)}
    if len(common) < 4:
        return out
    x = np.array([a[c] for c in common])
    y = np.array([b[c] for c in common])
    top, half = top_rows(x, TOP), top_rows(x, HALF)
    out["top_classes"] = len(top)
    for name, rows in (("all", slice(None)), ("half", half), ("top", top)):
        out[f"spearman_{name}"] = float(stats.spearmanr(x[rows], y[rows])[0])
        out[f"kendall_{name}"] = float(stats.kendalltau(x[rows], y[rows])[0])
    best = max(a, key=a.get)  # as suite_figures names it: the first of equal bests
    out["best_percentile_on_other"] = float(np.mean(y >= b[best])) if best in b else None
    out["spearman_half_ci"] = half_spearman_interval(x, y)
    return out


def half_spearman_interval(
    x: np.ndarray, y: np.ndarray, draws: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval of the Spearman correlation of `y` with `x` over
    `x`'s top half: classes drawn with replacement, the top half picked again in each draw
    (as `pair_figures` picks it). Says whether a near/far verdict on a sample of classes
    (a partial table) could change on the whole table."""
    from scipy import stats

    n = len(x)
    k = max(2, round(HALF * n))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(draws, n))
    # Top half of each draw by x (stable: ties keep the order drawn).
    order = np.argsort(-x[picks], axis=1, kind="stable")[:, :k]
    rows = np.take_along_axis(picks, order, axis=1)
    rx = stats.rankdata(x[rows], axis=1)
    ry = stats.rankdata(y[rows], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # a draw of constant values
        rho = (rx * ry).sum(1) / np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    rho = rho[np.isfinite(rho)]
    if not len(rho):
        return (math.nan, math.nan)
    low, high = np.percentile(rho, [2.5, 97.5])
    return (float(low), float(high))


def suite_figures(tables: dict[str, Any]) -> dict[str, Any]:
    """{"tasks": {name: per-task figures}, "pairs": {(a, b): pair_figures}} over every
    ordered pair of distinct tasks."""
    from nasbench_lite.table.noise import noise_floor

    means = {name: final_means(table) for name, table in tables.items()}
    tasks = {}
    for name, table in tables.items():
        values = np.array(list(means[name].values()))
        best_class = max(means[name], key=means[name].get) if means[name] else None
        tasks[name] = {
            "source": str(table.source),
            "classes": len(values),
            "of": table.space.num_unique,
            "seeds": table.num_seeds,
            "preset": table.attrs.get("preset"),
            "best": float(values.max()) if len(values) else math.nan,
            "median": float(np.median(values)) if len(values) else math.nan,
            "best_cell": None
            if best_class is None
            else table.space.format(int(table.space.representatives[best_class])),  # fmt: skip
            "noise": noise_floor(table),
        }
    pairs = {(a, b): pair_figures(means[a], means[b])
             for a, b in itertools.permutations(tables, 2)}  # fmt: skip
    return {"tasks": tasks, "pairs": pairs}


def _f(value: Any, spec: str = "+.3f") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def _ci(pair: dict[str, Any]) -> str:
    low, high = pair.get("spearman_half_ci", (math.nan, math.nan))
    return "" if not math.isfinite(low) else f" ({_f(low, '+.2f')} to {_f(high, '+.2f')})"


def suite_card_lines(figures: dict[str, Any], missing: dict[str, str] | None = None) -> list[str]:
    """The card's markdown lines; `missing` ({task: table file}) lists the suite's tasks whose
    table is not there yet."""
    tasks = figures["tasks"]
    later = ", ".join(f"{task} (`{name}`)" for task, name in (missing or {}).items())
    later = ["", f"Not generated yet: {later}."] if later else []
    rows = []
    for name, t in tasks.items():
        noise = t["noise"]
        kendall = noise.get("kendall", {}).get("test_acc", {})
        third = noise.get("kendall_by_third_seed", {}).get("test_acc", {})
        rows.append(
            f"| {name} | `{Path(t['source']).name}` | {t['preset']} | {t['classes']:,} of "
            f"{t['of']:,} | {t['seeds']} | {_f(100 * t['best'], '.1f')}% | "
            f"{_f(100 * t['median'], '.1f')}% | {_f(kendall.get('all'))} | "
            f"{_f(kendall.get('top 10%'))} | {_f(third.get('top 10%'))} | "
            f"{_f(100 * noise.get('resolution', math.nan), '.2f')} |"
        )
    lines = [
        TITLE,
        "",
        "Generated by `nasbench-lite suite-card` from the tables below; a table still being "
        "generated counts the classes it holds, and each pair of tasks is compared over the "
        "classes both hold. Accuracy: seed-mean final test accuracy.",
        "",
        "## Tasks",
        "",
        "| task | table | preset | classes | seeds | best | median | seed Kendall, all | "
        "seed Kendall, top 10% | top 10% by a third seed | resolution (pp) |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        *rows,
        *later,
        "",
        "Seed Kendall: Kendall's tau between two training seeds (mean over seed pairs), over "
        "the top 10% by the seeds' mean (biased down) or by a third seed (biased up; "
        "docs/suite_study.md); resolution: the smallest significant difference of two seed "
        "means in the top 10% (`nasbench-lite info` explains them).",
        "",
        "Best cells:",
        "",
        *(f"- {name}: `{t['best_cell']}`" for name, t in tasks.items()),
        "",
        "## Agreement between tasks",
        "",
        "| task A | task B | common classes | Spearman, all | Kendall, all | Spearman, A's top "
        "half | Spearman, A's top 10% | Kendall, A's top 10% | A's best on B (percentile) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for (a, b), p in figures["pairs"].items():
        percentile = p.get("best_percentile_on_other")
        shown = (
            "n/a" if "spearman_all" not in p
            else "not on B yet" if percentile is None
            else f"{100 * percentile:.1f}%"
        )  # fmt: skip
        lines.append(
            f"| {a} | {b} | {p['classes']:,} | {_f(p.get('spearman_all'))} | "
            f"{_f(p.get('kendall_all'))} | {_f(p.get('spearman_half'))}{_ci(p)} | "
            f"{_f(p.get('spearman_top'))} | "
            f"{_f(p.get('kendall_top'))} | "
            f"{shown} |"
        )
    lines += [
        "",
        "Within A's top 10% the correlations say whether the tasks agree where a search "
        "ends; over all classes they mostly say that dead cells rank last everywhere. "
        "Percentile: the share of the common classes scoring at least as well on B as A's "
        'best class does (1% is the top of B; "not on B yet": B\'s table does not hold it). '
        "In brackets: a 95% bootstrap interval over "
        "the common classes (drawn with replacement, the top half picked again in each "
        "draw), which says how far the figure could move on more classes. The suite's "
        "targets (docs/suite_study.md) "
        "read the top half: a near task ranks A's top half at Spearman 0.4 or more and at "
        "least 0.15 below A redrawn from its generator; a far one at 0.3 or less, with A's "
        "best class outside B's top 10%.",
        "",
    ]
    return lines


def write_suite_card(
    tables: dict[str, Any],
    out: str | Path,
    missing: dict[str, str] | None = None,
    force: bool = False,
) -> Path:
    """Write the suite card of `tables` ({task: Table}) to `out` (a markdown file);
    `missing`: {task: table file} of tasks whose table is not there yet. An existing `out`
    is replaced when it is a suite card (it is being regenerated) or with `force`; one of
    the tables never (InputError, OutputExistsError)."""
    from nasbench_lite.errors import InputError, OutputExistsError

    if len(tables) < 2:
        raise InputError(f"a suite card needs at least two tasks, got {list(tables)}")
    out = Path(out)
    if out.is_dir() or not out.parent.is_dir() or out.suffix.lower() != ".md":
        raise InputError(f"suite card {out}: name a .md file in an existing directory")
    if out.exists():
        sources = {Path(t.source).resolve() for t in tables.values()}
        if out.resolve() in sources:
            raise InputError(f"suite card {out}: that is one of its tables; name another file")
        with open(out, "rb") as f:
            previous = f.read(len(TITLE.encode()))
        if previous != TITLE.encode() and not force:
            raise OutputExistsError(
                f"suite card {out}: the file exists and is not a suite card; pass --force to "
                "replace it"
            )
    from nasbench_lite.table.fronts import suite_fronts_section

    lines = suite_card_lines(suite_figures(tables), missing) + suite_fronts_section(tables)
    text = "\n".join(lines)
    try:
        out.write_text(text)
    except OSError as err:
        raise InputError(f"suite card {out}: cannot write it ({err.strerror})") from None
    return out
