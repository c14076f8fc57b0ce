"""A table's true Pareto fronts: seed-mean final test accuracy (maximised) against each cost
metric it holds (minimised), their overlaps, and the sections the table card and the suite
card show them in.

A front is taken over the trained classes (done rows with a finite seed-mean final test
accuracy), the population the comparisons' true fronts are measured against (`compare.pareto`,
`compare --objectives valid_acc:max METRIC:min`, which measures `valid_acc` by `test_acc`). A
class is on the front when no other class is at least as good in both values and better in
one; classes tied on both values are all on it, so a front's classes can outnumber its
distinct points (the comparisons keep one class of each tied group: their front has as many
points as `Front.points`). Cost metrics: `params`, `flops`, then each measured latency
`latency_b<batch>` by batch size; a latency counts only when every trained (done) class has
it, otherwise it is "not measured (k of n classes)".

Non-dominance comes from moocore (the `multiobjective` extra), as everywhere in the package;
`nondominated` lives here, below the comparisons that import it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_lite.extras import MissingExtra, require

ALWAYS = ("params", "flops")
LATENCY = re.compile(r"^latency_b(\d+)$")


def nondominated(points: np.ndarray, keep_equal: bool = False) -> np.ndarray:
    """(n,) bool: the points of `points` (n, k) float (minimised) no other point dominates;
    of equal points only the first is kept, unless `keep_equal` (then all of them)."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 0:
        return np.zeros(0, bool)
    require("multiobjective", "hypervolume and Pareto fronts", modules=("moocore",))
    import moocore

    return np.asarray(moocore.is_nondominated(points, keep_weakly=keep_equal), dtype=bool)


def cost_metrics(table: Any) -> list[str]:
    """The per-class cost metrics `table` holds: params, flops, then latency_b<b> by b."""
    per_class = [m for m, axes in table.metric_axes.items() if axes == ("rows",)]
    latency = sorted((m for m in per_class if LATENCY.match(m)),
                     key=lambda m: int(LATENCY.match(m).group(1)))  # fmt: skip
    return [m for m in ALWAYS if m in per_class] + latency


@dataclass(frozen=True)
class Front:
    """One front, cheapest first (ties: most accurate first, then by class id). classes: class
    ids; raws: their representative raw cells (the table's rows); members: raw cells per
    class; accuracy, cost: their values; points: distinct (accuracy, cost) pairs."""

    metric: str
    classes: np.ndarray
    raws: np.ndarray
    members: np.ndarray
    accuracy: np.ndarray
    cost: np.ndarray
    points: int

    @property
    def size(self) -> int:
        return len(self.classes)


def front_mask(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(n,) bool: the classes on the front of `accuracy` (max) against `cost` (min); a NaN in
    either keeps a class off it."""
    accuracy, cost = np.asarray(accuracy, np.float64), np.asarray(cost, np.float64)
    finite = np.isfinite(accuracy) & np.isfinite(cost)
    keep = np.zeros(len(accuracy), bool)
    keep[finite] = nondominated(np.column_stack([-accuracy[finite], cost[finite]]), True)
    return keep


def trained(table: Any) -> dict[str, Any]:
    """The trained classes of `table`: raws (done rows' raw cells), classes (their class ids),
    accuracy (seed-mean final test accuracy), finite (accuracy is finite)."""
    raws = np.asarray(table.row_raw)[np.asarray(table.done, bool)]
    accuracy = np.asarray(table.values("test_acc", raws), np.float64)
    classes = np.asarray(table.space.canonical_ids)[raws]
    return {"raws": raws, "classes": classes, "accuracy": accuracy,
            "finite": np.isfinite(accuracy)}  # fmt: skip


def table_fronts(table: Any) -> dict[str, Any]:
    """The fronts of `table`: {"classes": trained classes with a finite accuracy, "fronts":
    {metric: Front}, "unmeasured": {metric: (classes measured, trained classes)}, "overlaps":
    [(metric A, metric B, shared classes, classes on either)] for every pair of fronts}."""
    t = trained(table)
    sizes = np.bincount(np.asarray(table.space.canonical_ids), minlength=table.space.num_unique)
    fronts, unmeasured = {}, {}
    for metric in cost_metrics(table):
        cost = np.asarray(table.values(metric, t["raws"]), np.float64)
        if not np.isfinite(cost).all():
            unmeasured[metric] = (int(np.isfinite(cost).sum()), len(cost))
            continue
        keep = np.flatnonzero(front_mask(t["accuracy"], cost))
        keep = keep[np.lexsort((t["classes"][keep], -t["accuracy"][keep], cost[keep]))]
        pairs = set(zip(t["accuracy"][keep].tolist(), cost[keep].tolist(), strict=True))
        fronts[metric] = Front(metric, t["classes"][keep], t["raws"][keep],
                               sizes[t["classes"][keep]], t["accuracy"][keep], cost[keep],
                               len(pairs))  # fmt: skip
    overlaps = []
    for a, b in itertools.combinations(fronts, 2):
        x, y = set(fronts[a].classes.tolist()), set(fronts[b].classes.tolist())
        overlaps.append((a, b, len(x & y), len(x | y)))
    return {"classes": int(t["finite"].sum()), "fronts": fronts, "unmeasured": unmeasured,
            "overlaps": overlaps}  # fmt: skip


def task_overlaps(tables: dict[str, Any]) -> list[dict[str, Any]]:
    """For every cost metric either table holds and every pair of tasks (in the order given):
    over the classes both hold (trained, finite accuracy and cost), each task's front against
    its own values of the metric and how many classes the two fronts share. A row has
    "unmeasured" (the tasks lacking the metric, or not measuring it for every trained class)
    instead of figures when the metric is not measured on both."""
    info = {name: (trained(table), table) for name, table in tables.items()}
    metrics = list(dict.fromkeys(m for table in tables.values() for m in cost_metrics(table)))
    rows = []
    for metric in metrics:
        for a, b in itertools.combinations(tables, 2):
            row: dict[str, Any] = {"metric": metric, "a": a, "b": b}
            values = {}
            for name in (a, b):
                t, table = info[name]
                if metric not in table.metrics:
                    continue
                cost = np.asarray(table.values(metric, t["raws"]), np.float64)
                if np.isfinite(cost).all():
                    ok = t["finite"]
                    values[name] = dict(zip(t["classes"][ok].tolist(),
                                            zip(t["accuracy"][ok], cost[ok], strict=True),
                                            strict=True))  # fmt: skip
            if len(values) < 2:
                row["unmeasured"] = [n for n in (a, b) if n not in values]
                rows.append(row)
                continue
            common = np.array(sorted(set(values[a]) & set(values[b])), np.int64)
            on = {}
            for name in (a, b):
                acc, cost = (np.array([values[name][c][i] for c in common]) for i in (0, 1))
                on[name] = set(common[front_mask(acc, cost)].tolist()) if len(common) else set()
            row.update(common=len(common), front_a=len(on[a]), front_b=len(on[b]),
                       shared=len(on[a] & on[b]), either=len(on[a] | on[b]))  # fmt: skip
            rows.append(row)
    return rows


def jaccard(shared: int, either: int) -> str:
    return f"{shared / either:.3f}" if either else "n/a"


def _range(values: np.ndarray, spec: str) -> str:
    low, high = float(np.min(values)), float(np.max(values))
    return format(low, spec) if low == high else f"{format(low, spec)} to {format(high, spec)}"


def _cost_spec(metric: str) -> str:
    return ".3g" if LATENCY.match(metric) else ",.0f"


def _row(cells: list[Any]) -> str:
    """A markdown table row; "|" inside a cell (NB-201 strings) escaped."""
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def fronts_section(table: Any) -> list[str]:
    """The table card's section: each front's size and ranges, its classes, the overlaps."""
    lines = ["## Pareto fronts", ""]
    try:
        figures = table_fronts(table)
    except MissingExtra as err:
        return lines + [f"Not computed here: {err}.", ""]
    n = figures["classes"]
    lines += [
        f"The true Pareto front of seed-mean final test accuracy (maximised) against each cost "
        f"metric (minimised), over the {n:,} trained classes with a finite accuracy: a class is "
        "on a front when no other class is at least as good in both and better in one. "
        "Classes tied on both values are all on it; `points` counts the distinct (accuracy, "
        "cost) pairs, the size of the true front `nasbench-lite compare --objectives "
        "valid_acc:max METRIC:min` measures hypervolume against (docs/multi_objective.md).", "",
        "| cost | classes | points | raw cells | test acc | cost |", "|---|--:|--:|--:|--:|--:|",
    ]  # fmt: skip
    for metric, f in figures["fronts"].items():
        ranges = f"{_range(f.accuracy, '.4f')} | {_range(f.cost, _cost_spec(metric))}"
        lines.append(f"| `{metric}` | {f.size:,} | {f.points:,} | {int(f.members.sum()):,} | "
                     f"{ranges} |")  # fmt: skip
    for metric, (k, total) in figures["unmeasured"].items():
        lines.append(f"| `{metric}` | not measured ({k:,} of {total:,} classes) | | | | |")
    lines.append("")
    if figures["overlaps"]:
        lines += ["How many classes two fronts share (Jaccard: shared / on either front):", "",
                  "| front A | front B | shared classes | on either | Jaccard |",
                  "|---|---|--:|--:|--:|"]  # fmt: skip
        lines += [f"| `{a}` | `{b}` | {s:,} | {e:,} | {jaccard(s, e)} |"
                  for a, b, s, e in figures["overlaps"]]  # fmt: skip
        lines.append("")
    for metric, f in figures["fronts"].items():
        lines += [f"Front against `{metric}`, cheapest first:", "",
                  f"| cell | class | raw | raw cells | test acc | {metric} |",
                  "|---|--:|--:|--:|--:|--:|"]  # fmt: skip
        for c, raw, size, acc, cost in zip(f.classes, f.raws, f.members, f.accuracy, f.cost,
                                           strict=True):  # fmt: skip
            cell = f"`{table.space.format(int(raw))}`"
            lines.append(_row([cell, int(c), int(raw), int(size), f"{acc:.4f}",
                                       format(float(cost), _cost_spec(metric))]))  # fmt: skip
        lines.append("")
    return lines


def suite_fronts_section(tables: dict[str, Any]) -> list[str]:
    """The suite card's section: each task's front sizes, and the fronts two tasks share."""
    lines = ["## Pareto fronts across tasks", ""]
    try:
        per_task = {name: table_fronts(table) for name, table in tables.items()}
        rows = task_overlaps(tables)
    except MissingExtra as err:
        return lines + [f"Not computed here: {err}.", ""]
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    lines += [
        "Each task's true front of seed-mean final test accuracy against each cost metric "
        "(classes on it, over the classes its table holds; as on each table's card):", "",
        "| task | " + " | ".join(f"`{m}`" for m in metrics) + " |",
        "|---|" + "--:|" * len(metrics),
    ]  # fmt: skip
    for name, figures in per_task.items():
        cells = []
        for m in metrics:
            if m in figures["fronts"]:
                cells.append(f"{figures['fronts'][m].size:,}")
            elif m in figures["unmeasured"]:
                k, total = figures["unmeasured"][m]
                cells.append(f"not measured ({k:,} of {total:,})")
            else:
                cells.append("not held")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "", "Over the classes both tasks hold, each task's front against the metric (its own "
        "accuracy and its own cost values) and how many classes the two fronts share "
        "(Jaccard: shared / on either front):", "",
        "| cost | task A | task B | common classes | A's front | B's front | shared | Jaccard |",
        "|---|---|---|--:|--:|--:|--:|--:|",
    ]  # fmt: skip
    for r in rows:
        head = f"| `{r['metric']}` | {r['a']} | {r['b']} |"
        if "unmeasured" in r:
            lines.append(f"{head} not measured on {', '.join(r['unmeasured'])} | | | | |")
        else:
            lines.append(f"{head} {r['common']:,} | {r['front_a']:,} | {r['front_b']:,} | "
                         f"{r['shared']:,} | {jaccard(r['shared'], r['either'])} |")  # fmt: skip
    return lines + [""]
